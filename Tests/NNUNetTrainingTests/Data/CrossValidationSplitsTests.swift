import Foundation
import NNUNetCore
import Testing
@testable import NNUNetTraining

@Suite("Cross-validation splits")
struct CrossValidationSplitsTests {
    static let golden = TestSupport.fixtures.appendingPathComponent("Task004_Hippocampus")

    static func goldenSplits() throws -> [CrossValidationFold] {
        try JSONDecoder().decode([CrossValidationFold].self,
                                 from: Data(contentsOf: golden.appendingPathComponent("splits_final.json")))
    }

    @Test("the default split reproduces nnU-Net's Task004 splits_final exactly")
    func defaultSplit() throws {
        let expected = try Self.goldenSplits()
        let identifiers = Set(expected[0].train + expected[0].val)
        #expect(identifiers.count == 260)
        // Order of the input must not matter (v1 sorts the keys first).
        let made = CrossValidationSplits.makeDefault(caseIdentifiers: identifiers.shuffled())
        #expect(made == expected)
    }

    @Test("worked examples of the reference sheet §8 (indices into the sorted identifiers)")
    func workedExamples() {
        func ids(_ n: Int) -> [String] { (0..<n).map { String(format: "c%02d", $0) } }
        func indices(_ names: [String]) -> [Int] { names.compactMap { Int($0.dropFirst()) } }
        let ten = CrossValidationSplits.makeDefault(caseIdentifiers: ids(10))
        #expect(ten.map { indices($0.val) } == [[0, 7], [3, 9], [4, 6], [1, 8], [2, 5]])
        let twelve = CrossValidationSplits.makeDefault(caseIdentifiers: ids(12))
        #expect(twelve.map { indices($0.val) } == [[0, 3, 8], [7, 10, 11], [6, 9], [1, 4], [2, 5]])
        let beyond = CrossValidationSplits.fold(5, in: ten, caseIdentifiers: ids(10))
        #expect(indices(beyond.train) == [0, 3, 4, 5, 6, 7, 8, 9])
        #expect(indices(beyond.val) == [1, 2])
    }

    @Test("NumPy RandomState(12345) stream")
    func mersenneTwister() {
        // numpy.random.RandomState(12345).randint(0, 2**32, dtype=np.uint64) draws genrand_int32 outputs;
        // the first output of MT19937 seeded with 5489 is the textbook 3499211612.
        var textbook = MersenneTwister(seed: 5489)
        #expect(textbook.nextUInt32() == 3_499_211_612)
        var a = MersenneTwister(seed: 12345), b = MersenneTwister(seed: 12345)
        #expect(a.permutation(50) == b.permutation(50))
        #expect(Set(a.permutation(50)) == Set(0..<50))
    }

    @Test("pickle and JSON files: v1's pickles read; what we write reads back; pkl wins over json")
    func files() throws {
        let expected = try Self.goldenSplits()
        for name in ["splits_final.pkl", "splits_final_numpy1.pkl"] {
            try TestSupport.withTemporaryFolder { folder in
                try FileManager.default.copyItem(at: Self.golden.appendingPathComponent(name),
                                                 to: folder.appendingPathComponent("splits_final.pkl"))
                #expect(try CrossValidationSplits.load(from: folder) == expected)
            }
        }
        try TestSupport.withTemporaryFolder { folder in
            #expect(try CrossValidationSplits.load(from: folder) == nil)
            let identifiers = expected[0].train + expected[0].val
            let created = try CrossValidationSplits.loadOrCreate(in: folder, caseIdentifiers: identifiers)
            #expect(created == expected)
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("splits_final.json").path))
            #expect(try CrossValidationSplits.load(from: folder) == expected)  // reads our pickle
            // A user-edited JSON is used when there is no pickle.
            try FileManager.default.removeItem(at: folder.appendingPathComponent("splits_final.pkl"))
            let custom = [CrossValidationFold(train: ["a", "b"], val: ["c"])]
            try JSONEncoder().encode(custom).write(to: folder.appendingPathComponent("splits_final.json"))
            #expect(try CrossValidationSplits.load(from: folder) == custom)
            // A broken file is an error naming it.
            try Data("{".utf8).write(to: folder.appendingPathComponent("splits_final.json"))
            #expect(throws: TrainingError.self) { try CrossValidationSplits.load(from: folder) }
        }
    }

    @Test("fold 'all', and a fold beyond the file uses the seeded 80:20 split")
    func folds() throws {
        let identifiers = (0..<20).map { String(format: "case_%02d", $0) }
        let splits = CrossValidationSplits.makeDefault(caseIdentifiers: identifiers)
        let all = CrossValidationSplits.fold(nil, in: splits, caseIdentifiers: identifiers)
        #expect(all.train == identifiers && all.val == identifiers)
        let extra = CrossValidationSplits.fold(7, in: splits, caseIdentifiers: identifiers)
        #expect(extra.train.count == 16 && extra.val.count == 4)
        #expect(Set(extra.train).isDisjoint(with: extra.val))
        #expect(extra == CrossValidationSplits.fold(7, in: splits, caseIdentifiers: identifiers.reversed()))
        #expect(extra != CrossValidationSplits.fold(8, in: splits, caseIdentifiers: identifiers))
        for fold in splits {
            #expect(Set(fold.train).isDisjoint(with: fold.val) && fold.train.count + fold.val.count == 20)
        }
    }
}

@Suite("Python reads our splits_final.pkl")
struct SplitsPythonCompatibilityTests {
    /// Python's own pickle module loads the file we write and sees the same lists (skipped without python3).
    @Test("pickle.load in Python 3")
    func pythonLoads() throws {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else { return }
        try TestSupport.withTemporaryFolder { folder in
            let splits = [CrossValidationFold(train: ["b_1", "ä_2"], val: ["c"]),
                          CrossValidationFold(train: ["c"], val: ["b_1", "ä_2"])]
            try CrossValidationSplits.write(splits, to: folder)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-c", "import pickle, json, sys; print(json.dumps(pickle.load(open(sys.argv[1], 'rb'))))",
                                 folder.appendingPathComponent("splits_final.pkl").path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            #expect(try JSONDecoder().decode([CrossValidationFold].self, from: output) == splits)
        }
    }
}
