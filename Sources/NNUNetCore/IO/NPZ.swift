import Foundation
import ZIPFoundation

/// NumPy `.npz` archives: a zip file with one `NAME.npy` member per array, as `np.savez_compressed` writes them
/// (deflate) and `np.load` reads them.
///
/// nnU-Net v1 keeps predicted probabilities in this format (`CASE.npz` with the member `softmax`, float16), which
/// ensembling reads back.
public enum NPZ {
    /// Writes the arrays (member name without `.npy` → array) atomically, deflate-compressed, members in the given
    /// order.
    /// - Throws: ``CoreError/fileSystem(path:reason:)`` naming the file when it cannot be written.
    public static func write(_ arrays: [(name: String, array: NPYArray)], to url: URL, compressed: Bool = true) throws {
        let temporary = TemporaryFile.url(for: url)
        do {
            let archive = try Archive(url: temporary, accessMode: .create)
            for (name, array) in arrays {
                var member = NPY.header(shape: array.shape, dataType: array.dataType)
                member.append(array.bytes)
                try archive.addEntry(with: name + ".npy", type: .file, uncompressedSize: Int64(member.count),
                                     compressionMethod: compressed ? .deflate : .none) { position, size in
                    member.subdata(in: Int(position)..<(Int(position) + size))
                }
            }
        } catch {
            TemporaryFile.remove(temporary)
            throw CoreError.fileSystem(path: url.path, reason: "cannot write the .npz archive (\(error))")
        }
        try AtomicFile.moveIntoPlace(temporary, url)
    }

    /// Reads one member (`name` without `.npy`) of an `.npz` file.
    /// - Throws: ``CoreError/unreadableImage(path:reason:)`` naming the file and the member when the archive is not a
    ///   readable `.npz`, lacks the member, or the member is not a supported `.npy` array.
    public static func read(_ url: URL, member name: String) throws -> NPYArray {
        func fail(_ reason: String) -> CoreError { .unreadableImage(path: url.path, reason: reason) }
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw fail("not a readable .npz (zip) archive (\(error))")
        }
        guard let entry = archive[name + ".npy"] else {
            let members = archive.map { $0.path }.joined(separator: ", ")
            throw fail("has no array '\(name)' (members: \(members.isEmpty ? "none" : members))")
        }
        var data = Data()
        do { _ = try archive.extract(entry, skipCRC32: false) { data.append($0) } } catch {
            throw fail("member \(entry.path) is corrupt (\(error))")
        }
        let parsed = try data.withUnsafeBytes { try NPY.parseHeader($0, path: url.path + ":" + entry.path) }
        let needed = parsed.offset + parsed.shape.reduce(1, *) * parsed.dataType.byteCount
        guard data.count >= needed else { throw fail("member \(entry.path) is truncated") }
        return NPYArray(shape: parsed.shape, dataType: parsed.dataType, bytes: data.subdata(in: parsed.offset..<needed))
    }
}
