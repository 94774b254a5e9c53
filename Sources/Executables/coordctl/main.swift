// coordctl: the operator's CLI. Its verbs live in CoordCtlCommands; this only runs them.
import CoordCtlCommands

@main
enum CoordCtlMain {
    static func main() async {
        await CoordCtl.main()
    }
}
