import Foundation

/// The temporary files that every writer of this package creates next to its destination before renaming them into
/// place (``AtomicFile``, ``NPY``, ``NPZ``, ``NIfTI``, ``Safetensors``, ``ZipArchiveWriter``, the PNG plots), and
/// the removal of those left behind by a killed process.
///
/// A temporary is named `.tmp-<pid>@<host>-<uuid>-NAME`: hidden, unique, and carrying the writer's process id and
/// host, so that a later run can tell a stray file of a dead process from one that a live process (possibly on
/// another machine sharing the folder) is still writing. Writers remove their temporary on any error; only a kill
/// (or power loss) leaves one behind, and ``sweep(_:startedBefore:depth:)`` (``sweepShared(_:depth:)`` for a folder
/// that several runs share) removes those at the start of the next command that writes in the folder.
public enum TemporaryFile {
    /// The prefix of every temporary name.
    public static let prefix = ".tmp-"

    /// This machine's host name as temporary names carry it: letters, digits, `.` and `_` only (at most 40).
    public static let hostTag: String = {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")
        let cleaned = String(ProcessInfo.processInfo.hostName.map { allowed.contains($0) ? $0 : "_" }.prefix(40))
        return cleaned.isEmpty ? "localhost" : cleaned
    }()

    /// A fresh temporary URL next to `destination`: `.tmp-<pid>@<host>-<uuid>-NAME` in the same folder, so that the
    /// final rename stays on one file system. The name keeps `destination`'s name as its end (libnifti chooses
    /// compression from a `.nii.gz` ending).
    public static func url(for destination: URL) -> URL {
        destination.deletingLastPathComponent().appendingPathComponent(name(for: destination.lastPathComponent))
    }

    /// The temporary file name for a destination file name (see ``url(for:)``).
    public static func name(for destinationName: String) -> String {
        "\(prefix)\(getpid())@\(hostTag)-\(UUID().uuidString)-\(destinationName)"
    }

    /// The writer recorded in a temporary name, or nil when `name` is not a temporary of this format (a temporary of
    /// an earlier version, `.tmp-<uuid>-NAME`, carries none).
    public static func writer(ofTemporaryName name: String) -> (processID: Int32, host: String)? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 10, let pid = Int32(digits) else { return nil }
        let afterPID = rest.dropFirst(digits.count)
        guard afterPID.first == "@" else { return nil }
        let hostAndRest = afterPID.dropFirst()
        // The host ends at the first '-' that starts "-<uuid>-" (host tags contain no '-').
        guard let dash = hostAndRest.firstIndex(of: "-") else { return nil }
        let uuid = hostAndRest[hostAndRest.index(after: dash)...].prefix(36)
        guard uuid.count == 36, UUID(uuidString: String(uuid)) != nil,
              hostAndRest[hostAndRest.index(after: dash)...].dropFirst(36).first == "-" else { return nil }
        return (pid, String(hostAndRest[..<dash]))
    }

    /// Whether a process with this id exists on this machine (`kill(pid, 0)`; a process of another user counts).
    public static func isProcessAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) == 0 { return true }
        return errno == EPERM
    }

    /// Removes the stray temporaries in a folder whose ``FolderLock`` the caller holds (so nobody else writes there),
    /// and in its subfolders down to `depth` levels: those written on this machine by a process that is no longer
    /// alive, and those of other machines and of earlier versions (no writer in the name) modified before `start`
    /// (the time the lock was taken). Temporaries of live processes of this machine (this one included) are kept.
    /// - Returns: the removed files.
    @discardableResult
    public static func sweep(_ folder: URL, startedBefore start: Date = Date(), depth: Int = 2) -> [URL] {
        sweep(folder, startedBefore: start, depth: depth, isLocked: true)
    }

    /// Removes the stray temporaries in a folder that several runs share without a lock (a trainer folder above its
    /// folds, a preprocessed task folder that trainers write the splits file into), and in its subfolders down to
    /// `depth` levels: only those written on this machine by a process that is no longer alive, so that a live
    /// writer on another machine is never disturbed.
    /// - Returns: the removed files.
    @discardableResult
    public static func sweepShared(_ folder: URL, depth: Int = 0) -> [URL] {
        sweep(folder, startedBefore: Date(), depth: depth, isLocked: false)
    }

    private static func sweep(_ folder: URL, startedBefore start: Date, depth: Int, isLocked: Bool) -> [URL] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [URL] = []
        for name in names.sorted() {
            let url = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                if depth > 0, !name.hasPrefix(prefix) {
                    removed += sweep(url, startedBefore: start, depth: depth - 1, isLocked: isLocked)
                }
                continue
            }
            guard name.hasPrefix(prefix) else { continue }
            if let writer = writer(ofTemporaryName: name), writer.host == hostTag {
                if isProcessAlive(writer.processID) { continue }
            } else {
                guard isLocked else { continue }
                let modified = (try? manager.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? nil
                guard let modified, modified < start else { continue }
            }
            if (try? manager.removeItem(at: url)) != nil { removed.append(url) }
        }
        return removed
    }

    /// Removes a temporary after a failed write, ignoring a missing file (the write may have failed before creating
    /// it).
    public static func remove(_ temporary: URL) {
        unlink(temporary.path)
    }
}
