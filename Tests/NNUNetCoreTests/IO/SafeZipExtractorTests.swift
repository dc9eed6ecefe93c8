import Foundation
import Testing
import ZIPFoundation
@testable import NNUNetCore

@Suite("Safe zip extraction")
struct SafeZipExtractorTests {
    static func makeZip(at url: URL, entries: [(String, String)], symlink: (String, String)? = nil) throws {
        let archive = try Archive(url: url, accessMode: .create)
        for (path, text) in entries {
            let data = Data(text.utf8)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count),
                                 compressionMethod: .deflate) { position, size in
                data[Int(position)..<(Int(position) + size)]
            }
        }
        if let (path, target) = symlink {
            let data = Data(target.utf8)
            try archive.addEntry(with: path, type: .symlink, uncompressedSize: Int64(data.count)) { position, size in
                data[Int(position)..<(Int(position) + size)]
            }
        }
    }

    @Test("a well-formed archive installs with its folder layout, replacing older files")
    func install() throws {
        try TestSupport.withTemporaryFolder { folder in
            let zip = folder.appendingPathComponent("model.zip")
            try Self.makeZip(at: zip, entries: [
                ("3d_fullres/Task500_X/T__P/fold_0/model_final_checkpoint.model", "weights"),
                ("3d_fullres/Task500_X/T__P/plans.pkl", "plans"),
            ])
            let target = folder.appendingPathComponent("results/nnUNet")
            try FileManager.default.createDirectory(at: target.appendingPathComponent("3d_fullres/Task500_X/T__P"),
                                                    withIntermediateDirectories: true)
            try Data("old".utf8).write(to: target.appendingPathComponent("3d_fullres/Task500_X/T__P/plans.pkl"))
            let installed = try SafeZipExtractor.extract(zip, into: target)
            #expect(installed.count == 2)
            #expect(try String(contentsOf: target.appendingPathComponent("3d_fullres/Task500_X/T__P/plans.pkl"),
                               encoding: .utf8) == "plans")
            #expect(try FileManager.default.contentsOfDirectory(atPath: target.path) == ["3d_fullres"])
        }
    }

    @Test("malicious and broken archives are rejected and nothing is written", arguments: [
        "dotdot", "absolute", "symlink", "truncated", "corrupt-data", "not-a-zip",
    ])
    func malicious(kind: String) throws {
        try TestSupport.withTemporaryFolder { folder in
            let zip = folder.appendingPathComponent("evil.zip")
            let good = ("3d_fullres/Task500_X/T__P/plans.pkl", "plans")
            switch kind {
            case "dotdot": try Self.makeZip(at: zip, entries: [good, ("3d_fullres/../../x", "escape")])
            case "absolute": try Self.makeZip(at: zip, entries: [good, ("/tmp/nnunet-evil-abs", "escape")])
            case "symlink": try Self.makeZip(at: zip, entries: [good], symlink: ("3d_fullres/link", "/etc"))
            case "truncated":
                try Self.makeZip(at: zip, entries: [good, ("2d/a.txt", String(repeating: "x", count: 5000))])
                let data = try Data(contentsOf: zip)
                try data.prefix(data.count - 30).write(to: zip)
            case "corrupt-data":
                // The second file's compressed bytes are damaged: the first file must not be installed either.
                try Self.makeZip(at: zip, entries: [good, ("2d/a.txt", (0..<4000).map { String($0) }.joined())])
                var data = try Data(contentsOf: zip)
                let middle = data.count / 2
                for i in middle..<(middle + 16) { data[i] ^= 0x5A }
                try data.write(to: zip)
            default: try Data("PK not really".utf8).write(to: zip)
            }
            let target = folder.appendingPathComponent("results/nnUNet")
            #expect(throws: CoreError.self) { try SafeZipExtractor.extract(zip, into: target) }
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: target.path)) ?? []
            #expect(leftovers.isEmpty, "\(leftovers)")
            #expect(!FileManager.default.fileExists(atPath: "/tmp/nnunet-evil-abs"))
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x").path))
        }
    }
}
