import Foundation
import ZIPFoundation

/// Extracts zip archives that come from other people (shared models) without trusting them.
///
/// Every entry is checked before anything is written: absolute paths, `..` components, backslash paths and symbolic
/// links are refused, naming the entry. All files are then extracted (with their CRC-32 verified) into a hidden staging
/// folder inside the destination, and only when every entry succeeded are they moved into place, so a truncated or
/// corrupt archive never leaves a half-installed model. Existing files of the same name are replaced, as in v1.
public enum SafeZipExtractor {
    /// Extracts `zip` into `destination` (created if needed) and returns the relative paths of the files written.
    public static func extract(_ zip: URL, into destination: URL) throws -> [String] {
        let archive: Archive
        do {
            archive = try Archive(url: zip, accessMode: .read)
        } catch {
            throw CoreError.invalidTaskFolder(path: zip.path, reason: "it is not a readable zip archive (truncated or "
                                              + "corrupt?): \(error)")
        }
        var files: [(entry: Entry, path: String)] = []
        for entry in archive {
            let path = try validatedPath(entry, zip: zip)
            if entry.type == .file { files.append((entry, path)) }
        }
        guard !files.isEmpty else {
            throw CoreError.invalidTaskFolder(path: zip.path, reason: "the archive contains no files")
        }
        let fm = FileManager.default
        try DecathlonConverter.createFolder(destination)
        let staging = destination.appendingPathComponent(".install-\(UUID().uuidString)", isDirectory: true)
        defer { try? fm.removeItem(at: staging) }
        for (entry, path) in files {
            let target = staging.appendingPathComponent(path)
            do {
                try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                _ = try archive.extract(entry, to: target, skipCRC32: false)
            } catch {
                throw CoreError.invalidTaskFolder(path: zip.path, reason: "entry '\(entry.path)' cannot be extracted "
                                                  + "(\(error)); nothing was installed")
            }
        }
        for (_, path) in files {
            let target = destination.appendingPathComponent(path)
            try DecathlonConverter.createFolder(target.deletingLastPathComponent())
            if fm.fileExists(atPath: target.path) { try? fm.removeItem(at: target) }
            try AtomicFile.moveIntoPlace(staging.appendingPathComponent(path), target)
        }
        return files.map(\.path)
    }

    /// The entry's path if it stays inside the destination; an error naming the entry otherwise.
    static func validatedPath(_ entry: Entry, zip: URL) throws -> String {
        let path = entry.path
        func refuse(_ why: String) -> CoreError {
            .invalidTaskFolder(path: zip.path, reason: "entry '\(path)' \(why); the archive was rejected and nothing "
                               + "was written")
        }
        if entry.type == .symlink { throw refuse("is a symbolic link") }
        if path.hasPrefix("/") || path.contains("\\") || path.contains(":") || path.contains("\0") {
            throw refuse("is an absolute or non-portable path")
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        if components.isEmpty || components.contains(where: { $0 == ".." || $0 == "." }) {
            throw refuse("would be written outside the target folder")
        }
        return components.joined(separator: "/")
    }
}
