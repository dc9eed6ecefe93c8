import Foundation

/// An exclusive lock on an output folder, so that two runs never write the same fold, preprocessed task or
/// prediction folder at once (`nnunet train` holds its fold folder's, `plan-and-preprocess` its cropped and
/// preprocessed task folders', `predict` its output folder's, each for the whole run).
///
/// The lock is a `flock(2)` on the file `.nnunet.lock` in the folder, which holds the holder's process id, host,
/// start time and purpose as text, and which ``release()`` removes. The kernel releases a `flock` when its holder
/// exits or is killed, so a lock file left by a dead process is not a lock: the next run takes it over (and says so
/// in ``previousHolder``). Two locks on one folder conflict also within one process (each ``acquire(_:purpose:)``
/// opens the file anew), so two threads of a library user are kept apart the same way as two processes.
///
/// ```swift
/// let lock = try FolderLock.acquire(foldFolder, purpose: "nnunet train")
/// defer { lock.release() }
/// ```
///
/// `@unchecked Sendable`: the only mutable state, the descriptor, is read and changed under `mutex`.
public final class FolderLock: @unchecked Sendable {
    /// The name of the lock file inside the locked folder.
    public static let fileName = ".nnunet.lock"

    /// The locked folder.
    public let folder: URL
    /// When this lock was taken.
    public let acquiredAt: Date
    /// What the lock file said when this lock was taken: the holder of a lock that was released without removing
    /// its file (a finished or killed run), or nil when there was no such text.
    public let previousHolder: String?

    private var descriptor: Int32
    private let mutex = NSLock()

    private init(folder: URL, descriptor: Int32, acquiredAt: Date, previousHolder: String?) {
        self.folder = folder
        self.descriptor = descriptor
        self.acquiredAt = acquiredAt
        self.previousHolder = previousHolder
    }

    deinit { release() }

    /// The lock file of `folder`.
    public static func lockFile(in folder: URL) -> URL { folder.appendingPathComponent(fileName) }

    /// Creates `folder` if needed and takes its lock without waiting.
    ///
    /// - Parameters:
    ///   - folder: the folder to lock.
    ///   - purpose: what the holder does (e.g. `nnunet train 3d_fullres fold 0`), written into the lock file for the
    ///     message another run gets.
    /// - Throws: ``CoreError/folderLocked(path:holder:)`` naming the folder and the holder's process id, host and
    ///   start time when another run holds it; ``CoreError/fileSystem(path:reason:)`` when the folder or the lock file
    ///   cannot be created.
    public static func acquire(_ folder: URL, purpose: String) throws -> FolderLock {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw CoreError.fileSystem(path: folder.path,
                                       reason: "cannot create the folder (\(error.localizedDescription))")
        }
        let path = lockFile(in: folder).path
        var descriptor: Int32 = -1
        // A releasing holder removes the file while it still holds the lock: a lock taken on a file that is no longer
        // the one at `path` protects nothing, so open again.
        for _ in 0..<100 {
            descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw CoreError.fileSystem(path: path,
                                           reason: "cannot open the lock file (\(String(cString: strerror(errno))))")
            }
            var result = flock(descriptor, LOCK_EX | LOCK_NB)
            while result != 0 && errno == EINTR { result = flock(descriptor, LOCK_EX | LOCK_NB) }
            guard result == 0 else {
                let reason = errno
                // The holder writes its description right after taking the lock: give it a moment to appear.
                var holder = readText(descriptor)
                for _ in 0..<20 where holder.isEmpty {
                    usleep(10_000)
                    holder = readText(descriptor)
                }
                close(descriptor)
                guard reason == EWOULDBLOCK else {
                    throw CoreError.fileSystem(path: path,
                                               reason: "cannot lock it (\(String(cString: strerror(reason))))")
                }
                throw CoreError.folderLocked(path: folder.path, holder: holder.isEmpty ? "an unknown process" : holder)
            }
            var opened = stat(), current = stat()
            if fstat(descriptor, &opened) == 0, stat(path, &current) == 0, opened.st_ino == current.st_ino,
               opened.st_dev == current.st_dev {
                break
            }
            close(descriptor)
            descriptor = -1
        }
        guard descriptor >= 0 else {
            throw CoreError.fileSystem(path: path, reason: "the lock file keeps being replaced; cannot lock it")
        }
        let previous = readText(descriptor)
        let now = Date()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let text = "pid \(getpid()) on host \(ProcessInfo.processInfo.hostName), started \(formatter.string(from: now))"
            + " (\(purpose))\n"
        // The text is informational; the flock is the lock. A full disk must not stop the run from taking it.
        _ = ftruncate(descriptor, 0)
        _ = Data(text.utf8).withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return FolderLock(folder: folder, descriptor: descriptor, acquiredAt: now,
                          previousHolder: previous.isEmpty ? nil : previous)
    }

    /// Releases the lock and removes the lock file (idempotent). A killed holder leaves its file behind, which is
    /// harmless: the next ``acquire(_:purpose:)`` takes it over.
    public func release() {
        mutex.lock()
        defer { mutex.unlock() }
        guard descriptor >= 0 else { return }
        // Removed while still locked, so that nobody locks the old file after the unlock (see acquire).
        unlink(Self.lockFile(in: folder).path)
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    /// Whether this lock is still held (not released).
    public var isHeld: Bool { mutex.withLock { descriptor >= 0 } }

    /// The lock file's text, trimmed (empty when unreadable).
    private static func readText(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "" }
        return String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
