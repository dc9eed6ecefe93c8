import Foundation
import ZIPFoundation

/// A PyTorch checkpoint in the zip format `torch.save` has written since PyTorch 1.6 (what nnU-Net v1 writes as
/// `model_final_checkpoint.model`), read without Python.
///
/// The archive holds `<prefix>/data.pkl` (the saved object: for nnU-Net a dict with `state_dict`,
/// `optimizer_state_dict`, `epoch`, `plot_stuff`, ...), `<prefix>/byteorder`, and one file `<prefix>/data/<key>` per
/// storage. `data.pkl` is decoded by the restricted ``PickleReader``; tensors appear as ``TorchTensorReference``s whose
/// values ``values(of:)`` reads from their storage.
public struct TorchCheckpoint {
    /// The decoded `data.pkl`.
    public let root: PickleValue
    private let archive: Archive
    private let prefix: String
    private let isBigEndian: Bool
    private let source: String

    /// Opens a checkpoint and decodes its `data.pkl`.
    /// - Throws: ``CoreError`` naming the file when it is not a torch zip checkpoint or its pickle is refused.
    public init(contentsOf url: URL) throws {
        source = url.path
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw CoreError.invalidPickle(source: url.path, reason: "not a PyTorch zip checkpoint (\(error)). Files "
                                          + "saved by PyTorch < 1.6 (legacy format) are not supported yet.")
        }
        guard let pickleEntry = archive.first(where: { $0.path.hasSuffix("/data.pkl") }) else {
            throw CoreError.invalidPickle(source: url.path, reason: "the archive has no data.pkl")
        }
        prefix = String(pickleEntry.path.dropLast("data.pkl".count))
        var order = Data()
        if let byteorder = archive[prefix + "byteorder"] {
            _ = try? archive.extract(byteorder) { order.append($0) }
        }
        isBigEndian = String(decoding: order, as: UTF8.self) == "big"
        var bytes = Data()
        do {
            _ = try archive.extract(pickleEntry) { bytes.append($0) }
        } catch {
            throw CoreError.invalidPickle(source: url.path, reason: "data.pkl cannot be extracted (\(error))")
        }
        root = try PickleReader(source: url.path + ":data.pkl").decode([UInt8](bytes))
    }

    /// The `state_dict` entries (name, tensor) in saved order.
    public var stateDict: [(name: String, tensor: TorchTensorReference)] {
        guard case .dict(let entries)? = root["state_dict"] else { return [] }
        return entries.compactMap { entry in
            guard let name = entry.key.stringValue, case .tensor(let tensor) = entry.value else { return nil }
            return (name, tensor)
        }
    }

    /// The values of a tensor as Float32, in C order of its shape (strides honoured).
    public func values(of tensor: TorchTensorReference) throws -> [Float] {
        let width: Int
        switch tensor.storageType {
        case "FloatStorage", "IntStorage": width = 4
        case "HalfStorage", "BFloat16Storage", "ShortStorage": width = 2
        case "DoubleStorage", "LongStorage": width = 8
        case "ByteStorage", "CharStorage", "BoolStorage": width = 1
        default:
            throw CoreError.invalidPickle(source: source, reason: "unsupported storage type \(tensor.storageType)")
        }
        guard let entry = archive[prefix + "data/" + tensor.storageKey] else {
            throw CoreError.invalidPickle(source: source, reason: "storage \(tensor.storageKey) is missing")
        }
        var raw = Data()
        do { _ = try archive.extract(entry) { raw.append($0) } } catch {
            throw CoreError.invalidPickle(source: source, reason: "storage \(tensor.storageKey) is corrupt (\(error))")
        }
        guard raw.count >= tensor.storageElementCount * width else {
            throw CoreError.invalidPickle(source: source, reason: "storage \(tensor.storageKey) is truncated")
        }
        let count = tensor.shape.reduce(1, *)
        guard tensor.shape.count == tensor.stride.count else {
            throw CoreError.invalidPickle(source: source, reason: "tensor shape and stride differ in rank")
        }
        // Element offsets of the view, C order over its shape.
        var offsets = [Int](repeating: tensor.storageOffset, count: count)
        var blockSize = count
        for (dimension, size) in tensor.shape.enumerated() where size > 0 {
            blockSize /= size
            for i in 0..<count { offsets[i] += ((i / blockSize) % size) * tensor.stride[dimension] }
        }
        guard offsets.allSatisfy({ $0 >= 0 && $0 < tensor.storageElementCount }) || count == 0 else {
            throw CoreError.invalidPickle(source: source, reason: "tensor view exceeds its storage")
        }
        let big = isBigEndian, type = tensor.storageType
        return raw.withUnsafeBytes { bytes in
            offsets.map { element in
                let at = element * width
                var word: UInt64 = 0
                for b in 0..<width {
                    let byte = UInt64(bytes[at + (big ? width - 1 - b : b)])
                    word |= byte << (8 * UInt64(b))
                }
                switch type {
                case "FloatStorage": return Float(bitPattern: UInt32(word))
                case "DoubleStorage": return Float(Double(bitPattern: word))
                case "HalfStorage": return Float16Bits(UInt16(word))
                case "BFloat16Storage": return Float(bitPattern: UInt32(word) << 16)
                case "LongStorage": return Float(Int64(bitPattern: word))
                case "IntStorage": return Float(Int32(truncatingIfNeeded: word))
                case "ShortStorage": return Float(Int16(truncatingIfNeeded: word))
                case "CharStorage": return Float(Int8(truncatingIfNeeded: word))
                default: return Float(word)
                }
            }
        }
    }
}
