import Foundation

/// A one-line progress counter on stderr, shown only when stderr is a terminal (quiet in logs and CI).
enum ProgressLine {
    static let isTerminal = isatty(STDERR_FILENO) != 0

    static func update(_ label: String, _ done: Int, _ total: Int) {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\r\(label) \(done)/\(total)".utf8))
    }

    static func finish() {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
