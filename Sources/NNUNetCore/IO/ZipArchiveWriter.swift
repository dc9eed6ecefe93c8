import Foundation
import ZIPFoundation

/// Writes zip archives of files below one folder, atomically: the counterpart of ``SafeZipExtractor`` (model
/// sharing writes with it, installing reads with the extractor).
public enum ZipArchiveWriter {
    /// Writes `files` (paths relative to `root`, which become the entry names) into a deflate-compressed zip at `zip`.
    ///
    /// The archive is built in a temporary file in the target folder (created if needed) and renamed over `zip` only
    /// when complete, so a failure never leaves a partial archive. Symbolic links are followed, so the archive holds
    /// plain files only (``SafeZipExtractor`` refuses link entries).
    /// - Throws: ``CoreError/fileSystem(path:reason:)`` naming the zip, or the file that could not be added.
    public static func write(_ files: [String], from root: URL, to zip: URL) throws {
        let folder = zip.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CoreError.fileSystem(path: folder.path, reason: "cannot create the folder for the zip (\(error))")
        }
        let temporary = TemporaryFile.url(for: zip)
        do {
            let archive = try Archive(url: temporary, accessMode: .create)
            for path in files {
                let source = root.appendingPathComponent(path).resolvingSymlinksInPath()
                do {
                    try archive.addEntry(with: path, fileURL: source, compressionMethod: .deflate)
                } catch {
                    throw CoreError.fileSystem(path: source.path, reason: "cannot add it to the zip (\(error))")
                }
            }
        } catch {
            TemporaryFile.remove(temporary)
            if error is CoreError { throw error }
            throw CoreError.fileSystem(path: zip.path, reason: "cannot write the zip archive (\(error))")
        }
        try AtomicFile.moveIntoPlace(temporary, zip)
    }
}
