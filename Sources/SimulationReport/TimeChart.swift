/// The time axis every chart of one report shares: minute 0 to `minutes` of the run, where its ticks fall, and
/// the events to mark. Built once per report so that every chart lines up.
struct TimeAxis {
    /// The run's length in minutes (at least 1).
    let minutes: Int
    /// Run minute 0 as Unix seconds (UTC).
    let start: Int64
    /// The events inside the run, by minute (ties kept in the result's order).
    let events: [EventMark]
    /// Minutes between two labelled ticks.
    let tickMinutes: Int

    init(result: SimulationResult) {
        var last = result.durationMinutes
        for policy in result.policies {
            if let sample = policy.fleet.last { last = max(last, sample.minute + max(result.sampleMinutes, 0)) }
        }
        minutes = max(last, 1)
        start = result.start
        let length = minutes
        events = result.events.enumerated()
            .filter { $0.element.minute >= 0 && $0.element.minute <= length }
            .sorted { ($0.element.minute, $0.offset) < ($1.element.minute, $1.offset) }
            .map(\.element)
        let steps = [10, 15, 30, 60, 120, 180, 360, 720, 1_440, 2_880, 10_080, 20_160, 43_200, 129_600, 525_600]
        tickMinutes = steps.first { length / $0 <= 9 } ?? (length / 9 / 525_600 + 1) * 525_600
    }

    /// The x axis's title.
    var title: String {
        "time since the run began, days and hours (run began \(TextFormat.utc(unixSeconds: start)))"
    }
}

/// A y axis from zero to `top` with a tick every `step`, and how a tick reads.
struct YScale {
    let top: Double
    let step: Double
    let label: (Double) -> String

    /// A scale with round steps (1, 2, 2.5 or 5 times a power of ten) that holds `maxValue` in about `ticks`
    /// steps; a scale to 1 where there is nothing to show.
    static func rounded(toHold maxValue: Double, ticks: Int = 4, label: @escaping (Double, Int) -> String) -> YScale {
        let maxValue = maxValue.isFinite && maxValue > 0 ? maxValue : 1
        let raw = maxValue / Double(max(ticks, 1))
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var decimals = 0
        var scaled = step
        while decimals < 6 && abs(scaled - scaled.rounded()) > 1e-9 * max(1, scaled) {
            scaled *= 10
            decimals += 1
        }
        let top = (maxValue / step - 1e-9).rounded(.up) * step
        return YScale(top: top, step: step) { label($0, decimals) }
    }
}

/// The data region of a chart in SVG pixels, and the maps from minutes and values into it.
struct PlotArea {
    let left: Double
    let top: Double
    let right: Double
    let bottom: Double
    let minutes: Double
    let yTop: Double

    func x(_ minute: Double) -> Double {
        let fraction = minutes > 0 ? minute / minutes : 0
        return left + min(max(fraction, 0), 1) * (right - left)
    }

    func y(_ value: Double) -> Double {
        let fraction = yTop > 0 && value.isFinite ? value / yTop : 0
        return bottom - min(max(fraction, 0), 1) * (bottom - top)
    }
}

/// One entry of a chart's legend: a line, a filled area or a bar in a colour, and what it stands for.
struct LegendItem {
    enum Mark {
        case line(width: Double, dash: String?)
        case area(opacity: Double)
        case bar
    }

    let label: String
    let colour: String
    let mark: Mark
}

/// A chart over the run's time: optional title, legend, event marks with their labels above the data, y axis
/// with title and ticks, x axis with ticks labelled as time since the run began and its title. The caller
/// draws the data into the `PlotArea` it is handed.
struct TimeChart {
    var width: Double
    /// Height of the data region alone.
    var plotHeight: Double
    var axis: TimeAxis
    var title: String?
    var legend: [LegendItem]
    var yTitle: String
    var yScale: YScale
    /// Event labels are cut to this many characters (the full label is the mark's tooltip).
    var eventLabelLength = 28
    var fontSize = 11.0
    /// Whether the event labels are drawn above the data (their lines always are): off for the lower strips of
    /// a stack that share the top one's labels.
    var labelsEvents = true
    /// Whether the x axis carries its title: off for the upper strips of a stack that share the bottom one's.
    var titlesTimeAxis = true

    private let leftMargin = 64.0
    private let rightMargin = 14.0

    func render(label: String, draw: (inout SVGCanvas, PlotArea) -> Void) -> String {
        var cursor = 4.0
        let titleBaseline = cursor + fontSize + 3
        if title != nil { cursor = titleBaseline + 6 }
        let legendRows = layOutLegend()
        let legendTop = cursor
        cursor += Double(legendRows.count) * (fontSize + 7)
        let eventLabels = placeEventLabels(left: leftMargin, right: width - rightMargin)
        let eventLevels = labelsEvents ? eventLabels.compactMap(\.level).max().map { $0 + 1 } ?? 0 : 0
        let eventTop = cursor + 2
        cursor += Double(eventLevels) * (fontSize + 2) + (eventLevels > 0 ? 4 : 0)
        let plot = PlotArea(
            left: leftMargin,
            top: cursor + 6,
            right: width - rightMargin,
            bottom: cursor + 6 + plotHeight,
            minutes: Double(axis.minutes),
            yTop: yScale.top
        )
        let height = plot.bottom + fontSize + 8 + (titlesTimeAxis ? fontSize + 8 : 0)
        var canvas = SVGCanvas(width: width, height: height, label: label)

        if let title { canvas.text(title, x: 4, y: titleBaseline, size: fontSize + 2, fill: "#111", bold: true) }
        drawLegend(legendRows, top: legendTop, into: &canvas)
        drawGrid(plot, into: &canvas)
        draw(&canvas, plot)
        drawEvents(eventLabels, plot: plot, levelsTop: eventTop, into: &canvas)
        canvas.line(plot.left, plot.bottom, plot.right, plot.bottom, stroke: "#444")
        canvas.line(plot.left, plot.top, plot.left, plot.bottom, stroke: "#444")
        if titlesTimeAxis {
            canvas.text(
                axis.title,
                x: (plot.left + plot.right) / 2,
                y: height - 4,
                anchor: .middle,
                size: fontSize - 0.5,
                fill: "#555"
            )
        }
        canvas.text(
            yTitle,
            x: 12,
            y: (plot.top + plot.bottom) / 2,
            anchor: .middle,
            size: fontSize - 0.5,
            fill: "#555",
            vertical: true
        )
        return canvas.finished()
    }

    /// A rough width of `text` in the chart's font, enough to keep labels from running into each other.
    private func textWidth(_ text: String, size: Double) -> Double {
        Double(text.count) * size * 0.6
    }

    private func layOutLegend() -> [[(item: LegendItem, x: Double)]] {
        var rows: [[(item: LegendItem, x: Double)]] = []
        var row: [(item: LegendItem, x: Double)] = []
        var x = leftMargin
        for item in legend {
            let itemWidth = 22 + textWidth(item.label, size: fontSize) + 16
            if !row.isEmpty && x + itemWidth > width - rightMargin {
                rows.append(row)
                row = []
                x = leftMargin
            }
            row.append((item, x))
            x += itemWidth
        }
        if !row.isEmpty { rows.append(row) }
        return rows
    }

    private func drawLegend(_ rows: [[(item: LegendItem, x: Double)]], top: Double, into canvas: inout SVGCanvas) {
        for (index, row) in rows.enumerated() {
            let middle = top + Double(index) * (fontSize + 7) + (fontSize + 7) / 2
            for (item, x) in row {
                switch item.mark {
                case .line(let width, let dash):
                    canvas.line(x, middle, x + 18, middle, stroke: item.colour, width: width, dash: dash)
                case .area(let opacity):
                    canvas.rect(x: x, y: middle - 5, width: 18, height: 10, fill: item.colour, opacity: opacity)
                case .bar:
                    canvas.rect(x: x + 5, y: middle - 6, width: 8, height: 12, fill: item.colour)
                }
                canvas.text(item.label, x: x + 22, y: middle + fontSize * 0.35, size: fontSize, fill: "#222")
            }
        }
    }

    private func drawGrid(_ plot: PlotArea, into canvas: inout SVGCanvas) {
        var value = 0.0
        var tick = 0
        while value <= yScale.top * (1 + 1e-9) && tick <= 50 {
            let y = plot.y(value)
            if tick > 0 { canvas.line(plot.left, y, plot.right, y, stroke: "#e3e3e3") }
            canvas.line(plot.left - 4, y, plot.left, y, stroke: "#444")
            canvas.text(yScale.label(value), x: plot.left - 7, y: y + 3.5, anchor: .end, size: fontSize - 1)
            tick += 1
            value = Double(tick) * yScale.step
        }
        var minute = 0
        while minute <= axis.minutes {
            let x = plot.x(Double(minute))
            if minute > 0 { canvas.line(x, plot.top, x, plot.bottom, stroke: "#efefef") }
            canvas.line(x, plot.bottom, x, plot.bottom + 4, stroke: "#444")
            let anchor: SVGCanvas.Anchor = minute == 0 ? .start : x > plot.right - 24 ? .end : .middle
            canvas.text(
                TextFormat.elapsed(minutes: minute),
                x: x,
                y: plot.bottom + fontSize + 5,
                anchor: anchor,
                size: fontSize - 1
            )
            minute += axis.tickMinutes
        }
    }

    /// Where an event's label goes: on which level above the data and on which side of its line; no level
    /// when it clears none.
    private struct EventLabel {
        let event: EventMark
        let x: Double
        let text: String
        let level: Int?
        let flip: Bool
    }

    private static let maxEventLevels = 3

    /// Each label takes the first level where it clears the label before it; one that fits on none keeps its
    /// line and its tooltip only.
    private func placeEventLabels(left: Double, right: Double) -> [EventLabel] {
        let size = fontSize - 1.5
        var levelEnds = Array(repeating: -Double.infinity, count: Self.maxEventLevels)
        let minutes = Double(max(axis.minutes, 1))
        return axis.events.map { event in
            let x = left + min(max(Double(event.minute) / minutes, 0), 1) * (right - left)
            let text =
                event.label.count > eventLabelLength
                ? String(event.label.prefix(eventLabelLength - 1)) + "…" : event.label
            let labelWidth = textWidth(text, size: size)
            let flip = x + 3 + labelWidth > width - 2
            let from = flip ? x - 3 - labelWidth : x
            let level = levelEnds.firstIndex { $0 + 6 < from }
            if let level { levelEnds[level] = flip ? x : x + 3 + labelWidth }
            return EventLabel(event: event, x: x, text: text, level: level, flip: flip)
        }
    }

    /// Each event as a thin dashed line through the data, with its label above where it has a level.
    private func drawEvents(
        _ labels: [EventLabel],
        plot: PlotArea,
        levelsTop: Double,
        into canvas: inout SVGCanvas
    ) {
        let size = fontSize - 1.5
        for label in labels {
            canvas.openGroup(title: "\(TextFormat.elapsed(minutes: label.event.minute)): \(label.event.label)")
            if labelsEvents, let level = label.level {
                let baseline = levelsTop + Double(level + 1) * (size + 3.5)
                canvas.line(label.x, baseline - size, label.x, plot.bottom, stroke: "#666", width: 0.8, dash: "3 2")
                canvas.text(
                    label.text,
                    x: label.flip ? label.x - 3 : label.x + 3,
                    y: baseline,
                    anchor: label.flip ? .end : .start,
                    size: size,
                    fill: "#444"
                )
            } else {
                canvas.line(label.x, plot.top, label.x, plot.bottom, stroke: "#666", width: 0.8, dash: "3 2")
            }
            canvas.closeGroup()
        }
    }
}
