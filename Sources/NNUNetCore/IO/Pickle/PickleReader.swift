import Foundation

/// A restricted Python unpickler: it interprets the pickle opcodes into plain ``PickleValue``s and never executes
/// anything.
///
/// A pickle may name callables (`GLOBAL`/`STACK_GLOBAL` followed by `REDUCE`); the reader accepts only a fixed
/// allow-list whose effect it re-implements on data: `collections.OrderedDict`, NumPy's array, dtype and scalar
/// reconstruction (both the numpy 1 `numpy.core` and numpy 2 `numpy._core` module names), `_codecs.encode`
/// (protocol-2 bytes), `builtins.set`/`frozenset`, and PyTorch's tensor rebuilding for checkpoint `data.pkl` files
/// (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`, `torch.*Storage` persistent ids, and `torch.device`,
/// which nnU-Net v2 checkpoints store in `init_args`: it decodes to its text, `cpu` or `cuda:0`). Any other global is
/// refused with an error naming it. Object construction opcodes (`INST`, `OBJ`, `NEWOBJ`, `EXT*`) are refused.
///
/// Hostile input is bounded: lengths are checked against the bytes that remain, the stack, memo and nesting depth
/// have limits, and every malformed sequence is an error, never a crash.
public struct PickleReader {
    /// The globals the reader understands (module, name).
    public static let allowedGlobals: Set<String> = [
        "collections.OrderedDict", "builtins.set", "builtins.frozenset", "__builtin__.set", "_codecs.encode",
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch.device",
        "torch.FloatStorage", "torch.HalfStorage", "torch.DoubleStorage", "torch.LongStorage", "torch.IntStorage",
        "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage", "torch.BFloat16Storage",
    ]

    /// Globals that may appear as data but are never called, decoded as ``PickleValue/reference(_:)`` (for example
    /// the postprocessing functions nnU-Net v2's `postprocessing.pkl` lists). Empty by default: a pickle naming any
    /// other global is refused, and so is a call of one of these.
    public var allowedReferences: Set<String> = []

    /// Limits that keep hostile input harmless.
    public var maximumDepth = 256
    /// Most values the stack may hold at once.
    public var maximumStackSize = 1 << 22
    /// Most entries the memo may hold.
    public var maximumMemoSize = 1 << 22

    /// Where the bytes came from, for error messages.
    public var source: String

    /// Creates a reader; `source` names the input in error messages.
    public init(source: String = "pickle") { self.source = source }

    /// Reads a pickle file.
    public static func read(contentsOf url: URL) throws -> PickleValue {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CoreError.missingPath(path: url.path, hint: "The pickle file cannot be read.")
        }
        return try PickleReader(source: url.path).decode([UInt8](data))
    }

    /// Decodes one pickle (up to its STOP opcode).
    public func decode(_ bytes: [UInt8]) throws -> PickleValue {
        var machine = Machine(bytes: bytes, reader: self)
        defer { machine.dismantle() }
        let node = try machine.run()
        return try machine.convert(node, depth: 0)
    }

    func fail(_ reason: String) -> CoreError { CoreError.invalidPickle(source: source, reason: reason) }
}

/// A mutable object under construction (pickles mutate containers after memoizing them).
private final class Node {
    enum Kind {
        case value(PickleValue)
        case list([Node]), tuple([Node]), dict([(Node, Node)]), set([Node])
        case global(String)
        case storage(type: String, key: String, count: Int)
        case emptyArray
        case array(NumpyArray, objects: [Node])
        case dtype(NumpyDType)
    }
    var kind: Kind
    init(_ kind: Kind) { self.kind = kind }
    static func value(_ v: PickleValue) -> Node { Node(.value(v)) }
}

private struct Machine {
    let bytes: [UInt8]
    let reader: PickleReader
    var position = 0
    var stack: [Node] = []
    var marks: [Int] = []
    var memo: [Int: Node] = [:]

    init(bytes: [UInt8], reader: PickleReader) {
        self.bytes = bytes
        self.reader = reader
    }

    // MARK: Reading primitives

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else {
            throw reader.fail("a length field (\(count)) runs past the end of the data at byte \(position) (truncated "
                              + "or corrupt)")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func byte() throws -> UInt8 { try take(1).first! }

    mutating func littleEndian(_ count: Int) throws -> UInt64 {
        try take(count).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw reader.fail("unterminated text line") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    mutating func push(_ node: Node) throws {
        guard stack.count < reader.maximumStackSize else { throw reader.fail("the stack grows beyond its limit") }
        stack.append(node)
    }

    mutating func pop() throws -> Node {
        guard let top = stack.popLast(), stack.count >= (marks.last ?? 0) else {
            throw reader.fail("stack underflow at byte \(position)")
        }
        return top
    }

    mutating func popMark() throws -> [Node] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw reader.fail("MARK missing at byte \(position)") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    mutating func memoize(_ index: Int) throws {
        guard let top = stack.last else { throw reader.fail("PUT with an empty stack") }
        guard index >= 0, memo.count < reader.maximumMemoSize else { throw reader.fail("memo index out of range") }
        memo[index] = top
    }

    mutating func recall(_ index: Int) throws {
        guard let node = memo[index] else { throw reader.fail("GET of memo entry \(index), which was never PUT") }
        try push(node)
    }

    // MARK: The machine

    mutating func run() throws -> Node {
        while true {
            let opcode = try byte()
            switch opcode {
            case 0x80: _ = try byte()  // PROTO
            case 0x95: _ = try take(8)  // FRAME: framing is transparent
            case 0x2E:  // STOP
                guard stack.count == 1 else { throw reader.fail("STOP with \(stack.count) values on the stack") }
                return stack[0]
            case 0x28: marks.append(stack.count)  // MARK
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: guard let top = stack.last else { throw reader.fail("DUP on empty stack") }; try push(top)
            case 0x4E: try push(.value(.none))
            case 0x88: try push(.value(.bool(true)))
            case 0x89: try push(.value(.bool(false)))
            case 0x4A: try push(.value(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4))))))  // BININT
            case 0x4B: try push(.value(.int(Int(try byte()))))  // BININT1
            case 0x4D: try push(.value(.int(Int(try littleEndian(2)))))  // BININT2
            case 0x8A, 0x8B:  // LONG1, LONG4
                let n = opcode == 0x8A ? Int(try byte()) : Int(Int32(truncatingIfNeeded: try littleEndian(4)))
                guard n >= 0, n <= 8 else { throw reader.fail("integer of \(n) bytes is too large") }
                let raw = try take(n)
                var value: Int64 = 0
                for (i, b) in raw.enumerated() { value |= Int64(b) << (8 * i) }
                if n > 0, n < 8, raw.last! & 0x80 != 0 { value -= Int64(1) << (8 * n) }
                try push(.value(.int(Int(value))))
            case 0x49:  // INT (text)
                let text = try line()
                if text == "00" { try push(.value(.bool(false))) } else if text == "01" { try push(.value(.bool(true))) }
                else { guard let v = Int(text) else { throw reader.fail("bad INT '\(text)'") }; try push(.value(.int(v))) }
            case 0x4C:  // LONG (text)
                let text = try line()
                guard let v = Int(text.hasSuffix("L") ? String(text.dropLast()) : text) else {
                    throw reader.fail("bad LONG '\(text)'")
                }
                try push(.value(.int(v)))
            case 0x47: try push(.value(.float(Double(bitPattern: try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }))))
            case 0x46:  // FLOAT (text)
                let text = try line()
                guard let v = Double(text) else { throw reader.fail("bad FLOAT '\(text)'") }
                try push(.value(.float(v)))
            case 0x58, 0x8C, 0x8D:  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                let n = opcode == 0x8C ? Int(try byte()) : Int(clamping: try littleEndian(opcode == 0x58 ? 4 : 8))
                try push(.value(.string(String(decoding: try take(n), as: UTF8.self))))
            case 0x56: try push(.value(.string(try line())))  // UNICODE (raw-unicode-escape, ASCII subset)
            case 0x54, 0x55:  // BINSTRING, SHORT_BINSTRING (protocol 0-2 str: latin-1 bytes)
                let n = opcode == 0x55 ? Int(try byte()) : Int(Int32(truncatingIfNeeded: try littleEndian(4)))
                try push(.value(.string(String(decoding: try take(n), as: UTF8.self))))
            case 0x42, 0x43, 0x8E, 0x96:  // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
                let n = opcode == 0x43 ? Int(try byte()) : Int(clamping: try littleEndian(opcode == 0x42 ? 4 : 8))
                try push(.value(.bytes(Array(try take(n)))))
            case 0x5D: try push(Node(.list([])))  // EMPTY_LIST
            case 0x29: try push(Node(.tuple([])))  // EMPTY_TUPLE
            case 0x7D: try push(Node(.dict([])))  // EMPTY_DICT
            case 0x8F: try push(Node(.set([])))  // EMPTY_SET
            case 0x6C: try push(Node(.list(try popMark())))  // LIST
            case 0x74: try push(Node(.tuple(try popMark())))  // TUPLE
            case 0x91: try push(Node(.set(try popMark())))  // FROZENSET
            case 0x85, 0x86, 0x87:  // TUPLE1..3
                let n = Int(opcode - 0x84)
                guard stack.count - n >= (marks.last ?? 0) else { throw reader.fail("TUPLE\(n) stack underflow") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                try push(Node(.tuple(items)))
            case 0x64:  // DICT
                let items = try popMark()
                guard items.count % 2 == 0 else { throw reader.fail("DICT with an odd number of items") }
                try push(Node(.dict(stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) })))
            case 0x61:  // APPEND
                let item = try pop()
                try append([item])
            case 0x65: try append(try popMark())  // APPENDS
            case 0x90: try append(try popMark())  // ADDITEMS
            case 0x73:  // SETITEM
                let value = try pop(), key = try pop()
                try setItems([key, value])
            case 0x75: try setItems(try popMark())  // SETITEMS
            case 0x70: try memoize(Int(try line()) ?? -1)  // PUT
            case 0x71: try memoize(Int(try byte()))  // BINPUT
            case 0x72: try memoize(Int(try littleEndian(4)))  // LONG_BINPUT
            case 0x94: try memoize(memo.count)  // MEMOIZE
            case 0x67: try recall(Int(try line()) ?? -1)  // GET
            case 0x68: try recall(Int(try byte()))  // BINGET
            case 0x6A: try recall(Int(try littleEndian(4)))  // LONG_BINGET
            case 0x63:  // GLOBAL
                let module = try line(), name = try line()
                try push(try global(module, name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .value(.string(let n)) = name.kind, case .value(.string(let m)) = module.kind else {
                    throw reader.fail("STACK_GLOBAL needs two strings")
                }
                try push(try global(m, n))
            case 0x52:  // REDUCE
                let arguments = try pop(), callable = try pop()
                try push(try reduce(callable, arguments))
            case 0x62:  // BUILD
                let state = try pop()
                guard let target = stack.last else { throw reader.fail("BUILD with an empty stack") }
                try build(target, state)
            case 0x51:  // BINPERSID
                let id = try pop()
                try push(try persistentLoad(id))
            case 0x50: throw reader.fail("text persistent ids are not supported")
            case 0x69, 0x6F, 0x81, 0x92, 0x82, 0x83, 0x84:
                throw reader.fail("object construction opcode 0x\(String(opcode, radix: 16)) is refused: this reader "
                                  + "only rebuilds plain data, never arbitrary objects")
            case 0x97, 0x98: throw reader.fail("out-of-band buffers are not supported")
            default:
                throw reader.fail("unknown opcode 0x\(String(opcode, radix: 16)) at byte \(position - 1)")
            }
        }
    }

    mutating func append(_ items: [Node]) throws {
        guard let target = stack.last else { throw reader.fail("APPEND with an empty stack") }
        switch target.kind {
        case .list(let existing): target.kind = .list(existing + items)
        case .set(let existing): target.kind = .set(existing + items)
        default: throw reader.fail("APPEND to something that is not a list")
        }
    }

    mutating func setItems(_ items: [Node]) throws {
        guard items.count % 2 == 0 else { throw reader.fail("SETITEMS with an odd number of items") }
        guard let target = stack.last, case .dict(var entries) = target.kind else {
            throw reader.fail("SETITEM on something that is not a dict")
        }
        for i in stride(from: 0, to: items.count, by: 2) { entries.append((items[i], items[i + 1])) }
        target.kind = .dict(entries)
    }

    func global(_ module: String, _ name: String) throws -> Node {
        let qualified = module + "." + name
        guard PickleReader.allowedGlobals.contains(qualified) || reader.allowedReferences.contains(qualified) else {
            throw CoreError.forbiddenPickleGlobal(source: reader.source, name: qualified)
        }
        return Node(.global(qualified))
    }

    // MARK: The allow-listed callables, re-implemented on data

    func arguments(_ node: Node) throws -> [Node] {
        guard case .tuple(let items) = node.kind else { throw reader.fail("REDUCE arguments are not a tuple") }
        return items
    }

    func plain(_ node: Node) -> PickleValue? { if case .value(let v) = node.kind { return v }; return nil }

    func ints(_ node: Node) throws -> [Int] {
        guard case .tuple(let items) = node.kind else { throw reader.fail("expected a tuple of integers") }
        return try items.map {
            guard let v = plain($0)?.intValue else { throw reader.fail("expected an integer") }
            return v
        }
    }

    func reduce(_ callable: Node, _ argumentNode: Node) throws -> Node {
        guard case .global(let name) = callable.kind, PickleReader.allowedGlobals.contains(name) else {
            throw reader.fail("REDUCE of something that is not an allowed global (a global allowed as data is never "
                              + "called)")
        }
        let args = try arguments(argumentNode)
        switch name {
        case "collections.OrderedDict":
            return Node(.dict([]))
        case "builtins.set", "builtins.frozenset", "__builtin__.set":
            if let first = args.first, case .list(let items) = first.kind { return Node(.set(items)) }
            return Node(.set([]))
        case "_codecs.encode":
            guard let text = args.first.flatMap(plain)?.stringValue else { throw reader.fail("_codecs.encode needs a string") }
            return .value(.bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }))
        case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
            return Node(.emptyArray)
        case "numpy.dtype":
            guard let spec = args.first.flatMap(plain)?.stringValue else { throw reader.fail("numpy.dtype needs a string") }
            return Node(.dtype(try dtype(spec)))
        case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
            guard args.count == 2, case .dtype(let type) = args[0].kind, case .value(.bytes(let raw)) = args[1].kind
            else { throw reader.fail("numpy scalar needs a dtype and bytes") }
            let array = NumpyArray(dtype: type, shape: [], isFortranOrder: false, rawBytes: raw, objects: [])
            return .value(array.element(at: 0))
        case "torch._utils._rebuild_tensor_v2":
            guard args.count >= 4, case .storage(let type, let key, let count) = args[0].kind,
                  let offset = plain(args[1])?.intValue else { throw reader.fail("malformed _rebuild_tensor_v2") }
            let shape = try ints(args[2]), stride = try ints(args[3])
            return .value(.tensor(TorchTensorReference(storageKey: key, storageType: type, storageElementCount: count,
                                                       storageOffset: offset, shape: shape, stride: stride)))
        case "torch.device":
            // torch.device('cpu') or torch.device('cuda', 0): data only, kept as its text.
            guard let type = args.first.flatMap(plain)?.stringValue else { throw reader.fail("torch.device needs a string") }
            let index = args.count > 1 ? plain(args[1])?.intValue : nil
            return .value(.string(index.map { "\(type):\($0)" } ?? type))
        case "torch._utils._rebuild_parameter":
            guard let data = args.first else { throw reader.fail("malformed _rebuild_parameter") }
            return data
        default:
            throw reader.fail("\(name) cannot be called")
        }
    }

    func dtype(_ spec: String) throws -> NumpyDType {
        var text = Substring(spec)
        var bigEndian = false
        if let first = text.first, "<>|=".contains(first) { bigEndian = first == ">"; text = text.dropFirst() }
        guard let kind = text.first, "fiubUSO".contains(kind) else { throw reader.fail("unsupported dtype '\(spec)'") }
        let digits = Int(text.dropFirst()) ?? (kind == "b" ? 1 : kind == "O" ? 8 : 0)
        let size = kind == "U" ? digits * 4 : digits
        guard size > 0 || kind == "U" || kind == "S", size < 1 << 20 else {
            throw reader.fail("unsupported dtype '\(spec)'")
        }
        return NumpyDType(kind: kind, itemSize: size, isBigEndian: bigEndian)
    }

    func build(_ target: Node, _ state: Node) throws {
        switch target.kind {
        case .dtype(var type):
            // (version, byteorder, subdescr, names, fields, elsize, alignment, flags)
            guard case .tuple(let items) = state.kind, items.count >= 2 else { return }
            if let order = plain(items[1])?.stringValue { type.isBigEndian = order == ">" }
            if items.count >= 6, let size = plain(items[5])?.intValue, size > 0 { type.itemSize = size }
            target.kind = .dtype(type)
        case .emptyArray:
            // (version, shape, dtype, is_fortran, raw data bytes | list of objects)
            guard case .tuple(let items) = state.kind, items.count == 5, case .dtype(let type) = items[2].kind else {
                throw reader.fail("malformed ndarray state")
            }
            let shape = try ints(items[1])
            guard shape.allSatisfy({ $0 >= 0 }) else { throw reader.fail("negative array dimension") }
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            let fortran = plain(items[3])?.intValue == 1
            if type.kind == "O" {
                guard case .list(let objects) = items[4].kind, objects.count == count else {
                    throw reader.fail("object array data does not match its shape \(shape)")
                }
                target.kind = .array(NumpyArray(dtype: type, shape: shape, isFortranOrder: fortran, rawBytes: [],
                                                objects: []), objects: objects)
            } else {
                let raw: [UInt8]
                switch plain(items[4]) {
                case .bytes(let b)?: raw = b
                case .string(let s)?: raw = s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
                default: throw reader.fail("ndarray data is not bytes")
                }
                let (needed, overflow) = count.multipliedReportingOverflow(by: type.itemSize)
                guard !overflow, raw.count == needed else {
                    throw reader.fail("ndarray of shape \(shape) and dtype \(type) needs \(needed) bytes, has \(raw.count)")
                }
                target.kind = .array(NumpyArray(dtype: type, shape: shape, isFortranOrder: fortran, rawBytes: raw,
                                                objects: []), objects: [])
            }
        case .dict(var entries):
            // BUILD on a dict-like object with a dict state: merge (what __setstate__ of plain objects does).
            guard case .dict(let more) = state.kind else { throw reader.fail("BUILD state is not a dict") }
            entries += more
            target.kind = .dict(entries)
        default:
            throw reader.fail("BUILD on an object that cannot take state")
        }
    }

    func persistentLoad(_ id: Node) throws -> Node {
        // PyTorch: ('storage', torch.FloatStorage, '<key>', '<location>', <element count>)
        guard case .tuple(let items) = id.kind, items.count >= 5, plain(items[0]) == .string("storage"),
              case .global(let type) = items[1].kind, let key = plain(items[2])?.stringValue,
              let count = plain(items[4])?.intValue, count >= 0 else {
            throw reader.fail("unsupported persistent id (only PyTorch storages are understood)")
        }
        return Node(.storage(type: String(type.dropFirst("torch.".count)), key: key, count: count))
    }

    /// Breaks every link between nodes, iteratively: a hostile pickle can nest containers 100,000 levels deep (whose
    /// recursive release would overflow the stack) or make a container contain itself (a reference cycle).
    mutating func dismantle() {
        var pending = stack + Array(memo.values)
        stack.removeAll()
        memo.removeAll()
        while let node = pending.popLast() {
            switch node.kind {
            case .list(let items), .tuple(let items), .set(let items): pending += items
            case .dict(let entries): for (key, value) in entries { pending.append(key); pending.append(value) }
            case .array(_, let objects): pending += objects
            default: continue
            }
            node.kind = .value(.none)
        }
    }

    // MARK: Conversion to values

    func convert(_ node: Node, depth: Int) throws -> PickleValue {
        guard depth < reader.maximumDepth else {
            throw reader.fail("nesting deeper than \(reader.maximumDepth) levels (or a self-referencing container)")
        }
        switch node.kind {
        case .value(let v): return v
        case .list(let items): return .list(try items.map { try convert($0, depth: depth + 1) })
        case .tuple(let items): return .tuple(try items.map { try convert($0, depth: depth + 1) })
        case .set(let items): return .set(try items.map { try convert($0, depth: depth + 1) })
        case .dict(let entries):
            return .dict(try entries.map { .init(key: try convert($0.0, depth: depth + 1),
                                                 value: try convert($0.1, depth: depth + 1)) })
        case .array(var array, let objects):
            if !objects.isEmpty { array.objects = try objects.map { try convert($0, depth: depth + 1) } }
            return .array(array)
        case .dtype(let type): return .dtype(type)
        case .global(let name):
            guard reader.allowedReferences.contains(name) else {
                throw reader.fail("the global \(name) was left uncalled in the data")
            }
            return .reference(name)
        case .storage: throw reader.fail("a storage was left outside a tensor")
        case .emptyArray: throw reader.fail("an ndarray was never given its data")
        }
    }
}
