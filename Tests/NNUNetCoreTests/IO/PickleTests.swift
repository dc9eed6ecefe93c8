import Foundation
import Testing
@testable import NNUNetCore

@Suite("Restricted pickle reader")
struct PickleTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Array(hex.filter { !$0.isWhitespace })
        while chars.count >= 2 { out.append(UInt8(String(chars[0..<2]), radix: 16)!); chars.removeFirst(2) }
        return out
    }

    /// Every pickle nnU-Net v1 wrote below `root`, as paths relative to it.
    static func pickles(below root: URL) -> [String] {
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        var found: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            if url.pathExtension == "pkl" { found.append(String(url.path.dropFirst(root.path.count + 1))) }
        }
        return found.sorted()
    }

    static func expectDictOrList(_ url: URL) throws {
        if url.lastPathComponent.hasPrefix("postprocessing") {
            // nnU-Net v2's postprocessing.pkl: a pair (functions, keyword dicts); the functions are names only.
            var reader = PickleReader(source: url.path)
            reader.allowedReferences = [
                "nnunetv2.postprocessing.remove_connected_components.remove_all_but_largest_component_from_segmentation",
            ]
            let value = try reader.decode(Array(try Data(contentsOf: url)))
            guard case .tuple(let pair) = value, pair.count == 2 else {
                Issue.record("unexpected top-level value \(value)")
                return
            }
            return
        }
        let value = try PickleReader.read(contentsOf: url)
        switch value {
        case .dict, .list: break
        default: Issue.record("unexpected top-level value \(value)")
        }
    }

    @Test("every pickle of the in-repository fixtures loads", arguments: pickles(below: TestSupport.fixtures))
    func fixturePickle(path: String) throws {
        try Self.expectDictOrList(TestSupport.fixtures.appendingPathComponent(path))
    }

    @Test("every pickle of the full reference set loads (plans, checkpoints, predictions)",
          TestSupport.requiresSharedData("reference"), arguments: pickles(below: TestSupport.reference))
    func referencePickle(path: String) throws {
        try Self.expectDictOrList(TestSupport.reference.appendingPathComponent(path))
    }

    @Test("splits_final.pkl written by numpy 2 and numpy 1 equals splits_final.json")
    func splits() throws {
        let folder = TestSupport.fixtures.appendingPathComponent("Task004_Hippocampus")
        let jsonData = try Data(contentsOf: folder.appendingPathComponent("splits_final.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: jsonData) as? [[String: [String]]])
        for name in ["splits_final.pkl", "splits_final_numpy1.pkl"] {
            let value = try PickleReader.read(contentsOf: folder.appendingPathComponent(name))
            let folds = try #require(value.elements)
            #expect(folds.count == 5)
            for (fold, expected) in zip(folds, json) {
                for key in ["train", "val"] {
                    let names = try #require(fold[key]?.elements).compactMap(\.stringValue)
                    #expect(names == expected[key], "\(name) \(key)")
                }
            }
        }
    }

    @Test("plans.pkl of the v1 model: nested dicts, numpy arrays and scalars",
          TestSupport.requiresSharedData("reference/v1_model"))
    func plans() throws {
        let url = TestSupport.reference.appendingPathComponent(
            "v1_model/results/nnUNet/3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1/plans.pkl")
        let plans = try PickleReader.read(contentsOf: url)
        let jsonData = try Data(contentsOf: url.appendingPathExtension("json"))
        let json = try #require(try JSONSerialization.jsonObject(with: jsonData) as? [String: Any])
        #expect(plans["num_stages"]?.intValue == json["num_stages"] as? Int)
        #expect(plans["base_num_features"]?.intValue == json["base_num_features"] as? Int)
        let stage = try #require(plans["plans_per_stage"]?[intKey: 0])
        let jsonStages = try #require(json["plans_per_stage"] as? [String: [String: Any]])
        let jsonStage = try #require(jsonStages["0"])
        #expect(stage["patch_size"]?.elements?.compactMap(\.intValue) == jsonStage["patch_size"] as? [Int])
        #expect(stage["batch_size"]?.intValue == jsonStage["batch_size"] as? Int)
        let spacing = stage["current_spacing"]?.elements?.compactMap { $0.doubleValue }
        let jsonSpacing = try #require(jsonStage["current_spacing"] as? [Double])
        #expect(spacing?.count == 3)
        for (a, b) in zip(spacing ?? [], jsonSpacing) { #expect(abs(a - b) <= 1e-12 * b) }
        let pools = try #require(stage["pool_op_kernel_sizes"]?.elements)
        #expect(pools.map { $0.elements?.compactMap(\.intValue) ?? [] } == jsonStage["pool_op_kernel_sizes"] as? [[Int]])
    }

    @Test("the torch checkpoint's data.pkl yields tensor references",
          TestSupport.requiresSharedData("reference/v1_model"))
    func checkpointPickle() throws {
        // The checkpoint is a zip; its data.pkl is stored uncompressed (compress_type 0) at data_offset 128.
        let reportData = try Data(contentsOf: TestSupport.reference.appendingPathComponent("v1_model/pickle_report.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: reportData) as? [String: Any])
        let checkpoint = try #require(report["checkpoint"] as? [String: Any])
        let entry = try #require((checkpoint["entries"] as? [[String: Any]])?.first)
        let offset = try #require(entry["data_offset"] as? Int), size = try #require(entry["size"] as? Int)
        let zip = try Data(contentsOf: TestSupport.reference.appendingPathComponent("v1_model/" + (checkpoint["file"] as? String ?? "")))
        let value = try PickleReader(source: "data.pkl").decode(Array(zip[offset..<(offset + size)]))
        guard case .dict(let stateDict)? = value["state_dict"] else {
            Issue.record("no state_dict")
            return
        }
        // Every persistent id (storage) became a tensor: the weights plus the optimizer's momentum buffers.
        func tensors(_ v: PickleValue) -> Int {
            switch v {
            case .tensor: return 1
            case .dict(let entries): return entries.reduce(0) { $0 + tensors($1.value) }
            case .list(let items), .tuple(let items): return items.reduce(0) { $0 + tensors($1) }
            default: return 0
            }
        }
        #expect(tensors(value) == checkpoint["n_persistent_ids"] as? Int)
        #expect(stateDict.count > 10)
        guard case .tensor(let first)? = stateDict.first?.value else {
            Issue.record("state_dict entries are not tensors")
            return
        }
        #expect(first.storageType == "FloatStorage")
        #expect(first.shape.reduce(1, *) <= first.storageElementCount)
        #expect(value["epoch"]?.intValue != nil)
    }

    @Test("hostile and malformed pickles are refused with an error, never executed")
    func hostile() throws {
        let cases: [(String, [UInt8])] = [
            // GLOBAL os.system + REDUCE: refused at the GLOBAL.
            ("os.system", Array("cos\nsystem\n(S'echo pwned'\ntR.".utf8)),
            ("builtins.eval via STACK_GLOBAL", Self.bytes("80048c086275696c74696e738c046576616c93") + Array("(X\u{04}\0\0\0'1+1'tR.".utf8)),
            ("subprocess via protocol 2", Array("csubprocess\nPopen\n(S'ls'\ntR.".utf8)),
            ("INST", Array("(ios\nsystem\nS'ls'\n.".utf8)),
            ("truncated", Self.bytes("80049508000000")),
            ("empty", []),
            ("huge length", Self.bytes("8004") + [0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x61]),
            ("huge BINBYTES8", Self.bytes("80048effffffffffffff7f")),
            ("stack underflow", [0x80, 0x02, 0x61, 0x2E]),
            ("bad memo", [0x80, 0x02, 0x68, 0x05, 0x2E]),
            ("unknown opcode", [0x80, 0x02, 0xFF]),
            ("STOP on empty stack", [0x80, 0x02, 0x2E]),
            ("deep nesting", [0x80, 0x02] + Array(repeating: 0x5D, count: 100_000)
                + Array(repeating: 0x61, count: 99_999) + [0x2E]),
            ("self reference", [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]),
            ("ndarray with too little data", Array("cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(K\0tC\u{01}btR(K\u{01}(K\u{05}tcnumpy\ndtype\n(X\u{02}\0\0\0f8K\0K\u{01}tR(K\u{03}X\u{01}\0\0\0<NNNJ\u{ff}\u{ff}\u{ff}\u{ff}J\u{ff}\u{ff}\u{ff}\u{ff}K\0tb\u{89}C\u{08}\0\0\0\0\0\0\0\0tb.".utf8)),
        ]
        for (name, data) in cases {
            do {
                let value = try PickleReader(source: name).decode(data)
                Issue.record("\(name) decoded to \(value)")
            } catch let error as CoreError {
                #expect(error.description.contains(name), "\(name): \(error)")
            }
        }
        #expect(throws: CoreError.forbiddenPickleGlobal(source: "x", name: "os.system")) {
            try PickleReader(source: "x").decode(Array("cos\nsystem\n(S'echo pwned'\ntR.".utf8))
        }
    }

    @Test("a global allowed as data decodes to its name, is refused without the allowance and is never called")
    func references() throws {
        let function = "nnunetv2.postprocessing.remove_connected_components.remove_all_but_largest_component_from_segmentation"
        let value = PickleValue.tuple([.list([.reference(function)]),
                                       .list([.dict([.init(key: .string("labels_or_regions"),
                                                           value: .list([.int(1), .int(2)]))])])])
        let encoded = try PickleWriter.encode(value)
        #expect(throws: CoreError.forbiddenPickleGlobal(source: "pp", name: function)) {
            try PickleReader(source: "pp").decode(encoded)
        }
        var reader = PickleReader(source: "pp")
        reader.allowedReferences = [function]
        #expect(try reader.decode(encoded) == value)
        // The same global called (GLOBAL + REDUCE) is refused even when allowed as data.
        let call = Array("cnnunetv2.postprocessing.remove_connected_components\nremove_all_but_largest_component_from_segmentation\n(K\u{01}tR.".utf8)
        #expect(throws: CoreError.self) { try reader.decode(call) }
        // Another global is still refused, naming it.
        #expect(throws: CoreError.forbiddenPickleGlobal(source: "pp", name: "os.system")) {
            try reader.decode(Array("cos\nsystem\n.".utf8))
        }
    }

    @Test("random mutations of a real pickle never crash")
    func fuzz() throws {
        let original = Array(try Data(contentsOf: TestSupport.fixtures.appendingPathComponent(
            "Task004_Hippocampus/splits_final.pkl")))
        var random = SeededGenerator(seed: 42)
        var decoded = 0
        for _ in 0..<3000 {
            var data = original
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                let index = Int.random(in: 0..<data.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: data[index] = UInt8.random(in: 0...255, using: &random)
                case 1: data.removeSubrange(index..<min(data.count, index + Int.random(in: 1...64, using: &random)))
                default: data.insert(UInt8.random(in: 0...255, using: &random), at: index)
                }
                if data.isEmpty { break }
            }
            if (try? PickleReader(source: "fuzz").decode(data)) != nil { decoded += 1 }
        }
        // Most mutations are rejected; the point is that none crashed or hung.
        #expect(decoded < 3000)
    }

    @Test("the writer's output reads back, and Python-compatible opcodes are used")
    func writerRoundTrip() throws {
        let value = PickleValue.list([
            .dict([.init(key: .string("train"), value: .list([.string("case_001"), .string("über")])),
                   .init(key: .string("val"), value: .list([]))]),
            .tuple([.int(-5), .int(70000), .int(1 << 40), .float(0.1), .bool(true), .none, .bytes([0, 200, 255])]),
        ])
        let encoded = try PickleWriter.encode(value)
        #expect(encoded.prefix(2) == [0x80, 2])
        #expect(try PickleReader(source: "roundtrip").decode(encoded) == value)
    }

    @Test("NumPy arrays become nested C-order lists in JSON, also when stored in Fortran order (any rank)")
    func arraysAsJSON() throws {
        let type = NumpyDType(kind: "i", itemSize: 8, isBigEndian: false)
        func bytes(_ values: [Int64]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        // a[i][j][k] = 100 i + 10 j + k, shape (2, 3, 2).
        var cValues: [Int64] = [], fortranValues: [Int64] = []
        for i in 0..<2 { for j in 0..<3 { for k in 0..<2 { cValues.append(Int64(100 * i + 10 * j + k)) } } }
        for k in 0..<2 { for j in 0..<3 { for i in 0..<2 { fortranValues.append(Int64(100 * i + 10 * j + k)) } } }
        let expected = "[[[0,1],[10,11],[20,21]],[[100,101],[110,111],[120,121]]]"
        for (fortran, values) in [(false, cValues), (true, fortranValues)] {
            let array = NumpyArray(dtype: type, shape: [2, 3, 2], isFortranOrder: fortran, rawBytes: bytes(values),
                                   objects: [])
            #expect(String(decoding: try PickleValue.array(array).jsonData(), as: UTF8.self) == expected)
        }
        let scalar = NumpyArray(dtype: type, shape: [], isFortranOrder: false, rawBytes: bytes([7]), objects: [])
        #expect(String(decoding: try PickleValue.array(scalar).jsonData(), as: UTF8.self) == "7")
        // Floats keep every bit through the JSON text.
        let value = 1.2105000019073486
        #expect(try JSONDecoder().decode([Double].self, from: PickleValue.list([.float(value)]).jsonData()) == [value])
    }
}
