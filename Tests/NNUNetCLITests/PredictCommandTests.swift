import ArgumentParser
import Foundation
import NNUNetCore
import Testing
@testable import nnunet_benchmark
@testable import nnunet_cli

/// `nnunet predict` on the genuine v1 model of `reference/v1_model` (optional test data, 22 MB), as a user runs it on a
/// v1 results folder.
@Suite("predict on a v1 results folder")
struct PredictCommandTests {
    static let v1Model = TestSupport.reference.appendingPathComponent("v1_model")

    static func withScratch(_ body: (URL) throws -> Void) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-cli-predict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        try body(scratch)
    }

    static var paths: NNUNetPaths {
        NNUNetPaths(rawDataBase: nil, preprocessed: nil, results: v1Model.appendingPathComponent("results"))
    }

    static func predict(_ arguments: [String]) throws {
        let command = try #require(try NNUNetCommand.parseAsRoot(["predict"] + arguments) as? PredictCommand)
        try command.run(paths: paths)
    }

    @Test("-z writes the nifti, v1's npz + pkl, plans.pkl and prediction_time.txt; existing cases are skipped",
          TestSupport.requiresSharedData("reference/v1_model"))
    func saveNpzAndSkip() throws {
        try Self.withScratch { scratch in
            let input = scratch.appendingPathComponent("in"), output = scratch.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Self.v1Model.appendingPathComponent("imagesTs/spheres_ts002_0000.nii.gz"),
                                             to: input.appendingPathComponent("spheres_ts002_0000.nii.gz"))
            let arguments = ["-i", input.path, "-o", output.path, "-t", "901", "-m", "3d_fullres", "-f", "0", "-z",
                             "--disable_tta"]
            try Self.predict(arguments)
            let files = Set(try FileManager.default.contentsOfDirectory(atPath: output.path))
            #expect(files == ["spheres_ts002.nii.gz", "spheres_ts002.npz", "spheres_ts002.pkl", "plans.pkl",
                              "prediction_time.txt"])
            let ours = try NIfTI.read(output.appendingPathComponent("spheres_ts002.nii.gz"))
            let theirs = try NIfTI.read(Self.v1Model.appendingPathComponent("pred_notta/spheres_ts002.nii.gz"))
            #expect(ours.shape == theirs.shape && ours.geometry == theirs.geometry)
            #expect(zip(ours.data, theirs.data).filter { $0 != $1 }.count <= 1)
            let softmax = try NPZ.read(output.appendingPathComponent("spheres_ts002.npz"), member: "softmax")
            #expect(softmax.dataType == .float16 && softmax.shape == [3] + theirs.shape)
            #expect(try Data(contentsOf: output.appendingPathComponent("plans.pkl"))
                    == Data(contentsOf: Self.v1Model.appendingPathComponent(
                        "results/nnUNet/3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1/plans.pkl")))
            let properties = try PickleReader.read(contentsOf: output.appendingPathComponent("spheres_ts002.pkl"))
            #expect(properties["crop_bbox"] != nil && properties["itk_origin"] != nil)

            // A second run leaves the existing case alone unless --overwrite_existing.
            let nifti = output.appendingPathComponent("spheres_ts002.nii.gz")
            let before = try FileManager.default.attributesOfItem(atPath: nifti.path)[.modificationDate] as? Date
            Thread.sleep(forTimeInterval: 0.05)
            try Self.predict(arguments)
            #expect(try FileManager.default.attributesOfItem(atPath: nifti.path)[.modificationDate] as? Date == before)
            try Self.predict(arguments + ["--overwrite_existing"])
            #expect(try FileManager.default.attributesOfItem(atPath: nifti.path)[.modificationDate] as? Date != before)
        }
    }

    @Test("--low_memory evaluates the full-resolution stage in slabs and gives v1's labels",
          TestSupport.requiresSharedData("reference/v1_model"))
    func lowMemory() throws {
        let folder = Self.v1Model.appendingPathComponent(
            "results/nnUNet/3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1")
        func command(_ extra: [String]) throws -> PredictCommand {
            try #require(try NNUNetCommand.parseAsRoot(["predict", "-i", "in", "-o", "out", "-t", "901", "-f", "0"]
                                                       + extra) as? PredictCommand)
        }
        #expect(try command([]).model(folder, mode: .normal).slabDepth == nil)
        #expect(try command(["--low_memory"]).model(folder, mode: .normal).slabDepth == GenericUNet.defaultSlabDepth)
        try Self.withScratch { scratch in
            let input = scratch.appendingPathComponent("in"), output = scratch.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Self.v1Model.appendingPathComponent("imagesTs/spheres_ts002_0000.nii.gz"),
                                             to: input.appendingPathComponent("spheres_ts002_0000.nii.gz"))
            try Self.predict(["-i", input.path, "-o", output.path, "-t", "901", "-m", "3d_fullres", "-f", "0",
                              "--disable_tta", "--low_memory"])
            let ours = try NIfTI.read(output.appendingPathComponent("spheres_ts002.nii.gz"))
            let theirs = try NIfTI.read(Self.v1Model.appendingPathComponent("pred_notta/spheres_ts002.nii.gz"))
            #expect(ours.shape == theirs.shape && ours.geometry == theirs.geometry)
            #expect(zip(ours.data, theirs.data).filter { $0 != $1 }.count <= 1)
        }
    }

    @Test("bad input: an empty input folder, an output that is a file, a missing fold and an unknown task are named",
          TestSupport.requiresSharedData("reference/v1_model"))
    func badInput() throws {
        try Self.withScratch { scratch in
            let input = scratch.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            #expect { try Self.predict(["-i", input.path, "-o", scratch.appendingPathComponent("o").path, "-t", "901"]) }
                throws: { "\($0)".contains("CASE_0000.nii.gz") }
            let file = scratch.appendingPathComponent("file.txt")
            try Data("x".utf8).write(to: file)
            #expect { try Self.predict(["-i", input.path, "-o", file.path, "-t", "901"]) }
                throws: { "\($0)".contains("file") }
            #expect { try Self.predict(["-i", input.path, "-o", scratch.appendingPathComponent("o").path, "-t", "901",
                                        "-f", "3"]) }
                throws: { "\($0)".contains("fold_3") }
            #expect { try Self.predict(["-i", input.path, "-o", scratch.appendingPathComponent("o").path, "-t", "555"]) }
                throws: { "\($0)".contains("555") }
            // Nothing was written into the input folder.
            #expect(try FileManager.default.contentsOfDirectory(atPath: input.path).isEmpty)
        }
    }

    @Test("nnunet-benchmark predict and convert-v1-model parse")
    func parsing() throws {
        let bench = try #require(try NNUNetBenchmarkCommand.parseAsRoot([
            "predict", "--disable_tta", "--threads", "1", "--peer-bin", "venv/bin", "-f", "0", "1",
        ]) as? BenchmarkPredictCommand)
        #expect(bench.disableTTA && bench.threads == 1 && bench.peerBin == "venv/bin")
        #expect(bench.folds == [.index(0), .index(1)])
        let convert = try #require(try NNUNetCommand.parseAsRoot(["convert-v1-model", "-i", "a", "-o", "b"])
            as? ConvertV1ModelCommand)
        #expect(convert.input == "a" && convert.output == "b")
        #expect(throws: (any Error).self) { try NNUNetCommand.parseAsRoot(["convert-v1-model", "-i", "a"]) }
    }
}
