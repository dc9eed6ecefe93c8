import Foundation

/// Writes files so that readers see either the old content or the complete new one, never a partial file.
///
/// Each write goes to a ``TemporaryFile`` next to the destination (`.tmp-<pid>-<uuid>-NAME`), which is removed on any
/// error, and is then renamed over the destination.
public enum AtomicFile {
    /// Writes `data` to a temporary file next to `url`, then renames it over `url`.
    /// - Throws: ``CoreError/fileSystem(path:reason:)`` naming the destination; the temporary is removed.
    public static func write(_ data: Data, to url: URL) throws {
        let temporary = TemporaryFile.url(for: url)
        do {
            try data.write(to: temporary)
        } catch {
            TemporaryFile.remove(temporary)
            throw CoreError.fileSystem(path: url.path, reason: "cannot write (\(error.localizedDescription))")
        }
        try moveIntoPlace(temporary, url)
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    /// Renames `temporary` over `destination` (POSIX rename: atomic on one file system); removes `temporary` when
    /// the rename fails.
    public static func moveIntoPlace(_ temporary: URL, _ destination: URL) throws {
        guard rename(temporary.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            TemporaryFile.remove(temporary)
            throw CoreError.fileSystem(path: destination.path, reason: "rename failed: \(reason)")
        }
    }

    /// Copies a file atomically (temporary copy, then rename); the temporary is removed on any error.
    public static func copy(_ source: URL, to destination: URL) throws {
        let temporary = TemporaryFile.url(for: destination)
        do {
            try FileManager.default.copyItem(at: source, to: temporary)
        } catch {
            TemporaryFile.remove(temporary)
            throw CoreError.fileSystem(path: destination.path,
                                       reason: "cannot copy from '\(source.path)' (\(error.localizedDescription))")
        }
        try moveIntoPlace(temporary, destination)
    }
}
