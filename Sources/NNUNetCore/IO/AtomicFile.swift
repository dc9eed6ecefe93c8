import Foundation

/// Writes files so that readers see either the old content or the complete new one, never a partial file.
public enum AtomicFile {
    /// Writes `data` to a temporary file next to `url`, then renames it over `url`.
    /// - Throws: ``CoreError/fileSystem(path:reason:)`` naming the destination.
    public static func write(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".tmp-\(UUID().uuidString)-\(url.lastPathComponent)")
        do {
            try data.write(to: temporary)
        } catch {
            throw CoreError.fileSystem(path: url.path, reason: "cannot write (\(error.localizedDescription))")
        }
        try moveIntoPlace(temporary, url)
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    /// Renames `temporary` over `destination` (POSIX rename: atomic on one file system).
    public static func moveIntoPlace(_ temporary: URL, _ destination: URL) throws {
        guard rename(temporary.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw CoreError.fileSystem(path: destination.path, reason: "rename failed: \(reason)")
        }
    }

    /// Copies a file atomically (temporary copy, then rename).
    public static func copy(_ source: URL, to destination: URL) throws {
        let temporary = destination.deletingLastPathComponent()
            .appendingPathComponent(".tmp-\(UUID().uuidString)-\(destination.lastPathComponent)")
        do {
            try FileManager.default.copyItem(at: source, to: temporary)
        } catch {
            throw CoreError.fileSystem(path: destination.path,
                                       reason: "cannot copy from '\(source.path)' (\(error.localizedDescription))")
        }
        try moveIntoPlace(temporary, destination)
    }
}
