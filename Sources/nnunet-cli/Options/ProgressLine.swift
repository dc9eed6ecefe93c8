import Foundation

/// A progress counter on standard error (unbuffered): on a terminal one line updated in place (carriage returns); in a
/// log file or a pipe (`nohup nnunet ... > log.txt 2>&1`) one plain line per update, so a log shows each step as it
/// happens and holds no carriage returns.
enum ProgressLine {
    static let isTerminal = isatty(STDERR_FILENO) != 0

    static func update(_ label: String, _ done: Int, _ total: Int) {
        FileHandle.standardError.write(Data(text(label, done, total, terminal: isTerminal).utf8))
    }

    /// Ends the line updated in place (nothing to do for plain lines).
    static func finish() {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    /// What ``update(_:_:_:)`` writes: `"\r<label> <done>/<total>"` on a terminal, else the same as a whole line.
    static func text(_ label: String, _ done: Int, _ total: Int, terminal: Bool) -> String {
        terminal ? "\r\(label) \(done)/\(total)" : "\(label) \(done)/\(total)\n"
    }
}
