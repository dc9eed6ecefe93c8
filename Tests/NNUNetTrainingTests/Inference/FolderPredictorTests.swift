import Foundation
import NNUNetCore
import NNUNetEvaluation
import Testing
@testable import NNUNetTraining

/// ``FolderPredictor`` on the genuine v1 CT model of `Tests/Fixtures/v1_ct_model`: the calls of
/// `Examples/PredictFromSwift`, compared with what v1's `nnUNet_predict` wrote.
@Suite("FolderPredictor predicts a folder like nnUNet_predict")
struct FolderPredictorTests {
    static let root = V1CTModelTests.root
    static let trainerFolder = V1CTModelTests.trainerFolder
    static let images = root.appendingPathComponent("imagesTs")

    static func image(_ identifier: String) -> URL { images.appendingPathComponent(identifier + "_0000.nii.gz") }

    /// Label voxels of `output/CASE.nii.gz` that differ from v1's `folder/CASE.nii.gz` (shape and geometry exact).
    static func differing(_ identifier: String, in output: URL, v1 folder: String) throws -> Int {
        try V1CTModelTests.differingVoxels(NIfTI.read(output.appendingPathComponent(identifier + ".nii.gz")),
                                           reference: root.appendingPathComponent("\(folder)/\(identifier).nii.gz"))
    }

    static func files(in folder: URL) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
    }

    @Test("the example's calls: a folder with the v1 CT model gives v1's labels; existing outputs are skipped")
    func folderWithV1Model() throws {
        let identifiers = try V1CTModelTests.caseIdentifiers()
        try TestSupport.withTemporaryFolder { scratch in
            let output = scratch.appendingPathComponent("out")
            // What Examples/PredictFromSwift does (plus the fold, to match v1's -f 0).
            var options = FolderPredictor.Options()
            options.folds = [.index(0)]
            let predictor = try FolderPredictor(modelFolder: Self.trainerFolder, options: options)
            var events: [FolderPredictor.Event] = []
            let summary = try predictor.predict(.folder(Self.images), into: output) { events.append($0) }

            #expect(summary.predicted == identifiers && summary.skipped.isEmpty && summary.failures.isEmpty)
            #expect(!summary.appliedPostprocessing)
            for identifier in identifiers {
                let differing = try Self.differing(identifier, in: output, v1: "pred_tta")
                #expect(differing == 0, "\(identifier): \(differing) voxels differ from v1")
            }
            #expect(try Self.files(in: output)
                    == Set(identifiers.map { $0 + ".nii.gz" } + ["plans.pkl", "prediction_time.txt"]))
            // Events: started, then each case started and finished in order, no postprocessing file, finished.
            guard case let .started(modelFolder, caseCount, foldCount, mirroring) = events.first else {
                Issue.record("first event: \(String(describing: events.first))")
                return
            }
            #expect(modelFolder == Self.trainerFolder && caseCount == 3 && foldCount == 1 && mirroring)
            let finished = events.compactMap { event -> String? in
                if case let .caseFinished(item, seconds) = event, seconds > 0, item.count == 3 { return item.identifier }
                return nil
            }
            #expect(finished == identifiers)
            #expect(events.count == 1 + 2 * identifiers.count + 2)
            if case .postprocessingMissing = events[events.count - 2] {} else { Issue.record("no postprocessing event") }
            if case .finished = events.last {} else { Issue.record("last event: \(String(describing: events.last))") }

            // Again: every output exists, so nothing is predicted (v1 without --overwrite_existing)...
            let again = try predictor.predict(.folder(Self.images), into: output)
            #expect(again.predicted.isEmpty && again.skipped == identifiers)
            // ...unless asked.
            options.overwritesExisting = true
            options.usesMirroring = false
            let redo = try FolderPredictor(modelFolder: Self.trainerFolder, options: options)
                .predict(.files([Self.image(identifiers[0])]), into: output)
            #expect(redo.predicted == [identifiers[0]])
            #expect(try Self.differing(identifiers[0], in: output, v1: "pred_notta") == 0)
            #expect(!(try Self.files(in: output)).contains(FolderLock.fileName))
        }
    }

    @Test("parts, -z (npz + pkl), a list of files and the thread count")
    func partsFilesAndProbabilities() throws {
        let identifiers = try V1CTModelTests.caseIdentifiers()
        try TestSupport.withTemporaryFolder { scratch in
            var options = FolderPredictor.Options()
            options.usesMirroring = false
            options.savesProbabilities = true
            options.part = .init(1, of: 2)
            options.threads = 1
            let predictor = try FolderPredictor(modelFolder: Self.trainerFolder, options: options)
            let output = scratch.appendingPathComponent("part1")
            var threadsSeen: Set<Int> = []
            let summary = try predictor.predict(.folder(Self.images), into: output) { _ in
                threadsSeen.insert(ThreadSettings.defaultThreads)
            }
            // Part 1 of 2 is every second case from the second on.
            #expect(summary.predicted == [identifiers[1]])
            #expect(threadsSeen == [1] && predictor.model.threads == 1)
            #expect(ThreadSettings.defaultThreads == ThreadSettings.processorCount)
            let identifier = identifiers[1]
            #expect(try Self.files(in: output) == [identifier + ".nii.gz", identifier + ".npz", identifier + ".pkl",
                                                   "plans.pkl", "prediction_time.txt"])
            #expect(try Self.differing(identifier, in: output, v1: "pred_notta") == 0)
            let softmax = try NPZ.read(output.appendingPathComponent(identifier + ".npz"), member: "softmax")
            let theirs = try NPZ.read(Self.root.appendingPathComponent("pred_notta/\(identifier).npz"), member: "softmax")
            #expect(softmax.dataType == .float16 && softmax.shape == theirs.shape)

            // Files: any order, the case identifiers as given; the other cases of the folder are not touched.
            options.savesProbabilities = false
            options.part = .all
            let files = [Self.image(identifiers[2]), Self.image(identifiers[0])]
            let listed = try FolderPredictor(modelFolder: Self.trainerFolder, options: options)
                .predict(.files(files), into: scratch.appendingPathComponent("files"))
            #expect(listed.predicted == [identifiers[2], identifiers[0]])
            for identifier in listed.predicted {
                #expect(try Self.differing(identifier, in: listed.outputFolder, v1: "pred_notta") == 0)
            }
        }
    }

    @Test("the model folder's postprocessing.json is applied to the cases predicted and copied next to them")
    func postprocessing() throws {
        let identifier = try #require(try V1CTModelTests.caseIdentifiers().first)
        try TestSupport.withTemporaryFolder { scratch in
            let model = scratch.appendingPathComponent("nnUNetTrainerV2__nnUNetPlansv2.1")
            try FileManager.default.copyItem(at: Self.trainerFolder, to: model)
            // Keep the largest connected component of the whole foreground and of label 1.
            let decision = try PostprocessingDecision.read(TestSupport.fixtures
                .appendingPathComponent("postprocessing/postprocessing.json"))
            var edited = decision
            edited.forWhichClasses = [.union([1, 2]), .single(1)]
            try edited.write(to: model.appendingPathComponent("postprocessing.json"))

            var options = FolderPredictor.Options()
            options.usesMirroring = false
            var applied: [ClassSet] = []
            let output = scratch.appendingPathComponent("out")
            let summary = try FolderPredictor(modelFolder: model, options: options)
                .predict(.files([Self.image(identifier)]), into: output) { event in
                    if case let .postprocessingApplied(_, decision) = event { applied = decision.forWhichClasses }
                }
            #expect(summary.appliedPostprocessing && applied == edited.forWhichClasses)
            #expect(try Self.files(in: output).contains("postprocessing.json"))
            // The same as postprocessing v1's own prediction.
            let reference = scratch.appendingPathComponent("reference")
            try PostprocessingApplication.apply(classSets: edited.forWhichClasses, minimumSizes: nil,
                                                inputFolder: Self.root.appendingPathComponent("pred_notta"),
                                                outputFolder: reference, fileNames: [identifier + ".nii.gz"])
            let ours = try NIfTI.read(output.appendingPathComponent(identifier + ".nii.gz"))
            #expect(try NIfTI.read(reference.appendingPathComponent(identifier + ".nii.gz")).data == ours.data)

            // Off when asked: the raw prediction (v1's labels) stays.
            options.appliesPostprocessing = false
            options.overwritesExisting = true
            let raw = try FolderPredictor(modelFolder: model, options: options)
                .predict(.files([Self.image(identifier)]), into: output)
            #expect(!raw.appliedPostprocessing)
            #expect(try Self.differing(identifier, in: output, v1: "pred_notta") == 0)
        }
    }

    @Test("bad requests name the folder, file or option; a failed case does not stop the others")
    func badRequests() throws {
        let identifiers = try V1CTModelTests.caseIdentifiers()
        try TestSupport.withTemporaryFolder { scratch in
            var options = FolderPredictor.Options()
            options.usesMirroring = false
            let predictor = try FolderPredictor(modelFolder: Self.trainerFolder, options: options)
            let output = scratch.appendingPathComponent("out")
            let empty = scratch.appendingPathComponent("empty")
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            #expect(throws: TrainingError.noCasesToPredict(folder: empty.path)) {
                try predictor.predict(.folder(empty), into: output)
            }
            #expect("\(TrainingError.noCasesToPredict(folder: empty.path))".contains("CASE_0000.nii.gz"))
            #expect { try predictor.predict(.files([empty.appendingPathComponent("scan.nii.gz")]), into: output) }
                throws: { "\($0)".contains("scan.nii.gz") && "\($0)".contains("CASE_XXXX.nii.gz") }
            #expect { try predictor.predict(.files([empty.appendingPathComponent("a_0001.nii.gz")]), into: output) }
                throws: { "\($0)".contains("modality 1") }
            let file = scratch.appendingPathComponent("file.txt")
            try Data("x".utf8).write(to: file)
            #expect { try predictor.predict(.folder(Self.images), into: file) } throws: { "\($0)".contains("is a file") }
            var cascade = options
            cascade.previousStage = .segmentations(empty)
            #expect { try FolderPredictor(modelFolder: Self.trainerFolder, options: cascade)
                .predict(.folder(Self.images), into: output) } throws: { "\($0)".contains("not a 3d_cascade_fullres") }
            for bad in [{ $0.part = .init(2, of: 2) }, { $0.savesProbabilities = true; $0.exportMode = .fast },
                        { $0.threads = 0 }] as [(inout FolderPredictor.Options) -> Void] {
                var invalid = options
                bad(&invalid)
                #expect(throws: TrainingError.self) { try FolderPredictor(modelFolder: Self.trainerFolder, options: invalid) }
            }
            #expect { try FolderPredictor(modelFolder: Self.trainerFolder, options: {
                var o = options
                o.folds = [.index(3)]
                return o
            }()) } throws: { "\($0)".contains("fold_3") }

            // Another run holds the output folder: refused at once, naming it.
            let lock = try FolderLock.acquire(output, purpose: "a test")
            #expect { try predictor.predict(.folder(Self.images), into: output) } throws: { "\($0)".contains("a test") }
            lock.release()

            // A missing modality file fails its case only; the call throws at the end, naming it.
            let missing = empty.appendingPathComponent("gone_0000.nii.gz")
            var skipped: [FolderPredictor.SkipReason] = []
            #expect {
                try predictor.predict(.files([Self.image(identifiers[0]), missing]), into: output) { event in
                    if case let .caseSkipped(_, reason) = event { skipped.append(reason) }
                }
            } throws: { "\($0)".contains(missing.path) && "\($0)".contains("1 case(s) failed") }
            #expect(skipped == [.missingModality(missing)])
            #expect(try Self.files(in: output).contains(identifiers[0] + ".nii.gz"))
            #expect(!(try Self.files(in: output)).contains(FolderLock.fileName))
        }
    }
}
