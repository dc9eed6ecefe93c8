import Foundation

/// The temporary files that every writer of this package creates next to its destination before renaming them into
/// place (``AtomicFile``, ``NPY``, ``NPZ``, ``NIfTI``, ``Safetensors``, ``ZipArchiveWriter``, the PNG plots), and
/// the removal of those left behind by a killed process.
///
/// A temporary is named `.tmp-<pid>-<uuid>-NAME`: hidden, unique, and carrying the writer's process id so that a
/// later run can tell a stray file of a dead process from a file that a live process is still writing. Writers remove
/// their temporary on any error; only a kill (or power loss) leaves one behind, and ``sweep(_:startedBefore:depth:)``
/// removes those at the start of the next command that writes in the folder (after it took the folder's
/// ``FolderLock``).
public enum TemporaryFile {
    /// The prefix of every temporary name.
    public static let prefix = ".tmp-"

    /// A fresh temporary URL next to `destination`: `.tmp-<pid>-<uuid>-NAME` in the same folder, so that the final
    /// rename stays on one file system. The name keeps `destination`'s name as its end (libnifti chooses compression
    /// from a `.nii.gz` ending).
    public static func url(for destination: URL) -> URL {
        destination.deletingLastPathComponent().appendingPathComponent(name(for: destination.lastPathComponent))
    }

    /// The temporary file name for a destination file name (see ``url(for:)``).
    public static func name(for destinationName: String) -> String {
        "\(prefix)\(getpid())-\(UUID().uuidString)-\(destinationName)"
    }

    /// The process id recorded in a temporary name, or nil when `name` is not a temporary or carries no process id
    /// (the `.tmp-<uuid>-NAME` names of older versions).
    public static func writerProcessID(ofTemporaryName name: String) -> Int32? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 10, let pid = Int32(digits) else { return nil }
        let afterPID = rest.dropFirst(digits.count)
        guard afterPID.first == "-" else { return nil }
        let uuid = afterPID.dropFirst().prefix(36)
        guard uuid.count == 36, UUID(uuidString: String(uuid)) != nil,
              afterPID.dropFirst(37).first == "-" else { return nil }
        return pid
    }

    /// Whether a process with this id exists on this machine (`kill(pid, 0)`; a process of another user counts).
    public static func isProcessAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) == 0 { return true }
        return errno == EPERM
    }

    /// Removes the stray temporaries in `folder` and its subfolders down to `depth` levels: those whose writer process
    /// is no longer alive, and (with `includingUnnamed`) those without a process id whose modification time is before
    /// `start` (left by an older version). Temporaries of live processes (this one included) are kept.
    ///
    /// Call it after taking the folder's ``FolderLock``, so that no other run of this package writes there. Pass
    /// `includingUnnamed: false` for a folder that is not locked (a shared parent folder).
    /// - Returns: the removed files.
    @discardableResult
    public static func sweep(_ folder: URL, startedBefore start: Date = Date(), depth: Int = 2,
                             includingUnnamed: Bool = true) -> [URL] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [URL] = []
        for name in names.sorted() {
            let url = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                if depth > 0, !name.hasPrefix(prefix) {
                    removed += sweep(url, startedBefore: start, depth: depth - 1, includingUnnamed: includingUnnamed)
                }
                continue
            }
            guard name.hasPrefix(prefix) else { continue }
            if let pid = writerProcessID(ofTemporaryName: name) {
                if isProcessAlive(pid) { continue }
            } else {
                guard includingUnnamed else { continue }
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
