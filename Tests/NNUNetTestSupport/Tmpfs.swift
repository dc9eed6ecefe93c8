import Foundation
import Testing

/// A small tmpfs to fill up for disk-full tests (mounting needs root, as in the CI container; tests that need it are
/// skipped with ``reason`` otherwise).
public enum Tmpfs {
    /// Why a disk-full test is skipped when ``isAvailable`` is false.
    public static let reason: Comment = "needs 'mount -t tmpfs' (root) to simulate a full disk"

    /// Whether a tmpfs can be mounted here.
    public static let isAvailable: Bool = (try? with { _ in true }) ?? false

    /// Mounts a 1 MiB tmpfs on a fresh folder (writes of 1.2 MB and more fail there), runs `body` and unmounts it.
    public static func with<T>(_ body: (URL) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-tmpfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        guard run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder.path]) else {
            throw CocoaError(.fileWriteNoPermission)
        }
        defer { _ = run(["umount", folder.path]) }
        return try body(folder)
    }

    static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
