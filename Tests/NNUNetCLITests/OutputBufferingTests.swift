import Dispatch
import Foundation
import Testing
@testable import nnunet_cli

/// Output of a redirected run (`nohup nnunet ... > log.txt`) reaches the file or pipe line by line, and progress is
/// written as plain lines there.
@Suite("Output to a file or a pipe")
struct OutputBufferingTests {
    /// The built `nnunet` executable: SwiftPM puts the products next to the test bundle (`.build/<config>/`).
    static let nnunet: URL? = {
        let candidates = [Bundle.main.executableURL?.deletingLastPathComponent(), Bundle.main.bundleURL,
                          Bundle.main.bundleURL.deletingLastPathComponent()]
        return candidates.compactMap { $0?.appendingPathComponent("nnunet") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// What a child process has written to a pipe so far, read on another thread.
    final class Received: @unchecked Sendable {
        private let lock = NSLock()
        private var bytes = Data()
        var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
        func append(_ data: Data) { lock.withLock { bytes.append(data) } }
    }

    @Test("a redirected 'nnunet quickstart' shows its first step while it runs (stdout is line-buffered)",
          .enabled(if: nnunet != nil, "the nnunet product is not built next to the tests (swift build --build-tests)"))
    func redirectedOutputArrivesWhileRunning() throws {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("nnunet-cli-buffering-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = Self.nnunet
        // The default quickstart trains for minutes; it is stopped as soon as its first line has arrived.
        process.arguments = ["quickstart", scratch.appendingPathComponent("quickstart").path]
        process.currentDirectoryURL = scratch
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let expected = "1/5 Generating a synthetic task"
        let reader = pipe.fileHandleForReading, received = Received(), arrived = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            while !received.text.contains(expected) {
                let chunk = reader.availableData  // blocks until the child writes; empty at its exit
                if chunk.isEmpty { break }
                received.append(chunk)
            }
            arrived.signal()
        }
        // Block-buffered, the first 4 KiB would only arrive after minutes, or at exit.
        let inTime = arrived.wait(timeout: .now() + 60) == .success
        Thread.sleep(forTimeInterval: 0.5)
        let stillRunning = process.isRunning
        // SIGKILL: the child inherits the test thread's signal mask, in which SIGTERM may be blocked.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(inTime, "no output within 60 s")
        #expect(received.text.contains(expected), "output: \(received.text)")
        #expect(stillRunning, "the output arrived only when the process ended")
    }

    @Test("progress is one plain line per update in a log, an in-place line on a terminal")
    func progressLineWithoutTerminal() {
        #expect(ProgressLine.text("converting", 3, 10, terminal: false) == "converting 3/10\n")
        #expect(ProgressLine.text("converting", 3, 10, terminal: true) == "\rconverting 3/10")
    }
}
