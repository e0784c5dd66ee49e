// A small hand-written argument parser that behaves like swift-argument-parser: nested subcommands,
// `--help` on every command, `--version`, `--flag value` and `--flag=value`, and errors that name the bad
// flag or value with a non-zero exit code (64, EX_USAGE).
import Foundation

struct Option {
    let name: String          // "--threads"
    let value: String?        // "N" when the option takes a value; nil for a boolean flag
    let help: String
    var defaultValue: String? = nil
}

struct Command {
    let name: String
    let abstract: String
    var discussion: String = ""
    var options: [Option] = []
    var positionals: [(name: String, help: String)] = []
    var subcommands: [Command] = []
    var run: ((Arguments) throws -> Void)? = nil
}

struct UsageError: Error, CustomStringConvertible {
    let message: String
    let command: String
    var description: String { "error: \(message)\nSee '\(command) --help'." }
}

/// Parsed values of one command line, with typed accessors that report the flag at fault.
struct Arguments {
    let command: String
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []

    func string(_ name: String) -> String? { values[name] }
    func flag(_ name: String) -> Bool { flags.contains(name) }

    func int(_ name: String, default d: Int, range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let s = values[name] else { return d }
        guard let v = Int(s), range.contains(v) else {
            throw UsageError(message: "invalid value '\(s)' for \(name): expected an integer in \(range.lowerBound)...\(range.upperBound)", command: command)
        }
        return v
    }
    func float(_ name: String, default d: Float) throws -> Float {
        guard let s = values[name] else { return d }
        guard let v = Float(s), v.isFinite else {
            throw UsageError(message: "invalid value '\(s)' for \(name): expected a number", command: command)
        }
        return v
    }
    func list(_ name: String) -> [String]? {
        values[name].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }
}

enum Parser {
    static let globalOptions = [
        Option(name: "--threads", value: "N", help: "Worker threads for the kernels", defaultValue: "all cores"),
        Option(name: "--help", value: nil, help: "Show help for this command"),
    ]

    /// Resolves the subcommand path and parses its options. Returns the command and its arguments.
    static func parse(_ root: Command, _ argv: [String]) throws -> (Command, Arguments, [String]) {
        var cmd = root
        var path = [root.name]
        // Global options may come before the subcommand (`dreamportrait --threads 2 bench`).
        var rest: [String] = []
        var i = 0
        while i < argv.count {
            if let sub = cmd.subcommands.first(where: { $0.name == argv[i] }) {
                cmd = sub; path.append(sub.name); i += 1
            } else if argv[i] == "--threads" && i + 1 < argv.count {
                rest += [argv[i], argv[i + 1]]; i += 2
            } else { break }
        }
        let argv = rest + Array(argv[i...])
        i = 0
        let pathString = path.joined(separator: " ")
        var args = Arguments(command: pathString)
        let known = cmd.options + globalOptions
        while i < argv.count {
            let a = argv[i]
            if a == "-h" || a == "--help" { args.flags.insert("--help"); i += 1; continue }
            if a.hasPrefix("--") {
                let parts = a.split(separator: "=", maxSplits: 1).map(String.init)
                guard let opt = known.first(where: { $0.name == parts[0] }) else {
                    throw UsageError(message: "unknown option '\(parts[0])' for '\(pathString)'", command: pathString)
                }
                if opt.value == nil {
                    if parts.count > 1 { throw UsageError(message: "option '\(opt.name)' takes no value", command: pathString) }
                    args.flags.insert(opt.name)
                } else if parts.count > 1 {
                    args.values[opt.name] = parts[1]
                } else {
                    guard i + 1 < argv.count else {
                        throw UsageError(message: "missing value for '\(opt.name)' (expected \(opt.value!))", command: pathString)
                    }
                    args.values[opt.name] = argv[i + 1]; i += 1
                }
            } else if !cmd.subcommands.isEmpty && cmd.run == nil {
                throw UsageError(message: "unknown command '\(a)' for '\(pathString)'; commands: \(cmd.subcommands.map(\.name).joined(separator: ", "))", command: pathString)
            } else {
                args.positionals.append(a)
            }
            i += 1
        }
        if args.positionals.count > cmd.positionals.count {
            throw UsageError(message: "unexpected argument '\(args.positionals[cmd.positionals.count])' for '\(pathString)'", command: pathString)
        }
        return (cmd, args, path)
    }

    /// The left column of a help line, 24 wide; a longer name gets a line of its own rather than being cut.
    static func column(_ left: String) -> String {
        left.count < 23 ? left.padding(toLength: 24, withPad: " ", startingAt: 0) : left + "\n" + String(repeating: " ", count: 26)
    }

    static func help(_ cmd: Command, path: [String]) -> String {
        var s = "OVERVIEW: \(cmd.abstract)\n"
        if !cmd.discussion.isEmpty { s += "\n\(cmd.discussion)\n" }
        let usageTail = cmd.subcommands.isEmpty || cmd.run != nil ? " [options]" + cmd.positionals.map { " <\($0.name)>" }.joined() : " <subcommand>"
        s += "\nUSAGE: \(path.joined(separator: " "))\(usageTail)\n"
        if !cmd.positionals.isEmpty {
            s += "\nARGUMENTS:\n"
            for p in cmd.positionals { s += "  \(column(p.name))\(p.help)\n" }
        }
        if !cmd.subcommands.isEmpty {
            s += "\nSUBCOMMANDS:\n"
            for c in cmd.subcommands { s += "  \(column(c.name))\(c.abstract)\n" }
            s += "\n  See '\(path.joined(separator: " ")) <subcommand> --help' for details.\n"
        }
        s += "\nOPTIONS:\n"
        for o in cmd.options + globalOptions {
            let left = o.value.map { "\(o.name) <\($0)>" } ?? o.name
            let def = o.defaultValue.map { " (default: \($0))" } ?? ""
            s += "  \(column(left))\(o.help)\(def)\n"
        }
        return s
    }
}

/// Prints a message to standard error.
func printError(_ s: String) {
    FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
}
