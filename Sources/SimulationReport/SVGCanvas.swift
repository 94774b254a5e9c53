/// One inline SVG element being written as text. Every coordinate goes through `TextFormat.coordinate` (one
/// decimal, zero for a value that is not finite) and every text through `TextFormat.html`, so the markup is
/// deterministic, never holds "nan", and cannot be broken by a label.
struct SVGCanvas {
    private(set) var markup: String

    init(width: Double, height: Double, label: String) {
        markup =
            "<svg viewBox=\"0 0 \(Self.c(width)) \(Self.c(height))\" role=\"img\" aria-label=\"\(TextFormat.html(label))\">"
    }

    /// The finished element.
    func finished() -> String {
        markup + "</svg>\n"
    }

    mutating func line(
        _ x1: Double,
        _ y1: Double,
        _ x2: Double,
        _ y2: Double,
        stroke: String,
        width: Double = 1,
        dash: String? = nil
    ) {
        markup += "<line x1=\"\(Self.c(x1))\" y1=\"\(Self.c(y1))\" x2=\"\(Self.c(x2))\" y2=\"\(Self.c(y2))\""
        markup += " stroke=\"\(stroke)\" stroke-width=\"\(Self.c(width))\""
        if let dash { markup += " stroke-dasharray=\"\(dash)\"" }
        markup += "/>"
    }

    enum Anchor: String {
        case start
        case middle
        case end
    }

    mutating func text(
        _ content: String,
        x: Double,
        y: Double,
        anchor: Anchor = .start,
        size: Double = 11,
        fill: String = "#333",
        bold: Bool = false,
        vertical: Bool = false
    ) {
        markup += "<text x=\"\(Self.c(x))\" y=\"\(Self.c(y))\" font-size=\"\(Self.c(size))\" fill=\"\(fill)\""
        if anchor != .start { markup += " text-anchor=\"\(anchor.rawValue)\"" }
        if bold { markup += " font-weight=\"600\"" }
        if vertical { markup += " transform=\"rotate(-90 \(Self.c(x)) \(Self.c(y)))\"" }
        markup += ">\(TextFormat.html(content))</text>"
    }

    mutating func polyline(_ points: [(x: Double, y: Double)], stroke: String, width: Double, dash: String? = nil) {
        guard !points.isEmpty else { return }
        markup += "<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.c(width))\""
        markup += " stroke-linejoin=\"round\""
        if let dash { markup += " stroke-dasharray=\"\(dash)\"" }
        markup += " points=\"\(Self.points(points))\"/>"
    }

    mutating func polygon(_ points: [(x: Double, y: Double)], fill: String, opacity: Double) {
        guard points.count > 2 else { return }
        markup += "<polygon fill=\"\(fill)\" fill-opacity=\"\(Self.c(opacity))\" stroke=\"none\""
        markup += " points=\"\(Self.points(points))\"/>"
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, opacity: Double = 1) {
        markup += "<rect x=\"\(Self.c(x))\" y=\"\(Self.c(y))\" width=\"\(Self.c(width))\" height=\"\(Self.c(height))\""
        markup += " fill=\"\(fill)\""
        if opacity != 1 { markup += " fill-opacity=\"\(Self.c(opacity))\"" }
        markup += "/>"
    }

    /// Opens a group whose tooltip is `title`; close it with `closeGroup()`.
    mutating func openGroup(title: String) {
        markup += "<g><title>\(TextFormat.html(title))</title>"
    }

    mutating func closeGroup() {
        markup += "</g>"
    }

    private static func c(_ value: Double) -> String {
        TextFormat.coordinate(value)
    }

    private static func points(_ points: [(x: Double, y: Double)]) -> String {
        var text = ""
        text.reserveCapacity(points.count * 12)
        for (index, point) in points.enumerated() {
            if index > 0 { text += " " }
            text += c(point.x) + "," + c(point.y)
        }
        return text
    }
}
