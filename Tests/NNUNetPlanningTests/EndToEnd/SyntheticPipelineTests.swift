import Foundation
import NNUNetCore
import Testing
@testable import NNUNetPlanning

/// Paths the reference tasks do not take: a two-stage (3d_lowres) plan, CT normalisation with intensity
/// properties, and anisotropic (separate-z) resampling.
@Suite struct SyntheticPipelineTests {
    static func generate(in root: URL, id: Int, shape: [Int], spacing: [Double], modalities: [String])
        throws -> (NNUNetPaths, String) {
        let paths = NNUNetPaths.inside(root)
        var configuration = SyntheticTaskConfiguration()
        configuration.taskID = id
        configuration.name = "Synth\(id)"
        configuration.trainingCases = 4
        configuration.testCases = 0
        configuration.shape = shape
        configuration.spacing = spacing
        configuration.modalities = modalities
        configuration.seed = UInt64(id)
        let folder = try SyntheticTaskGenerator.generate(configuration, rawDataFolder: try paths.rawData(), threads: 2)
        return (paths, folder.lastPathComponent)
    }

    /// A tiny memory budget forces small patches, so the cascade rule creates a 3d_lowres stage; both stages are
    /// preprocessed at their spacings.
    @Test func lowresStageIsPlannedAndPreprocessed() throws {
        try PlanningTestSupport.withTemporaryFolder { root in
            let (paths, task) = try Self.generate(in: root, id: 621, shape: [40, 48, 44], spacing: [1, 1, 1],
                                                  modalities: ["MRI"])
            var options = PlanAndPreprocess.Options()
            options.planner3D = .threeD(gpuMemoryGB: 0.02)
            options.planner2D = nil
            options.threadsLowres = 1
            options.threadsFullres = 2
            let planned = try PlanAndPreprocess.run(taskName: task, paths: paths, options: options)
            let plans = try #require(planned.first?.plans)
            #expect(plans.numStages == 2)
            let lowres = try #require(plans.stage(0)), fullres = try #require(plans.stage(1))
            #expect(lowres.currentSpacing.allSatisfy { $0 > 1 })
            #expect(2 * lowres.medianPatientSizeInVoxels.reduce(1, *) < fullres.medianPatientSizeInVoxels.reduce(1, *))
            let folder = try paths.preprocessedData().appendingPathComponent(task)
            #expect(planned.first?.file.lastPathComponent == "nnUNetPlansv2.1_0.02GB_plans_3D.json")
            for (stage, plan) in [(0, lowres), (1, fullres)] {
                let stageFolder = folder.appendingPathComponent("nnUNetData_plans_v2.1_0.02GB_stage\(stage)")
                let ids = try DatasetAnalyzer.croppedCaseIdentifiers(in: try paths.croppedData().appendingPathComponent(task))
                #expect(ids.count == 4)
                for id in ids {
                    let array = try NPY.read(stageFolder.appendingPathComponent(id + ".npy"))
                    let props = try PreprocessedCaseProperties.load(from: stageFolder.appendingPathComponent(id + ".json"))
                    let f = plans.transposeForward
                    let expected = (0..<3).map {
                        NumpyStatistics.round(props.cropping.originalSpacing[f[$0]] / plan.currentSpacing[$0]
                                              * Double(props.cropping.sizeAfterCropping[f[$0]]))
                    }
                    try #require(array.shape == [2] + expected && props.sizeAfterResampling == expected)
                    let seg = Array(array.floats()[(expected.reduce(1, *))...])
                    #expect(Set(seg).isSubset(of: [-1, 0, 1, 2]))
                    for (label, locations) in props.classLocations {
                        for l in locations.prefix(50) {
                            #expect(seg[(l[0] * expected[1] + l[1]) * expected[2] + l[2]] == Float(label))
                        }
                    }
                }
            }
        }
    }

    /// CT: intensity properties are collected, the plans say CT without mask, and the data is clipped to the
    /// foreground percentiles before z-scoring. Spacing (4, 1, 1) also takes the separate-z path.
    @Test func ctNormalisationAndAnisotropicResampling() throws {
        try PlanningTestSupport.withTemporaryFolder { root in
            let (paths, task) = try Self.generate(in: root, id: 622, shape: [12, 40, 36], spacing: [4, 1, 1],
                                                  modalities: ["CT"])
            var options = PlanAndPreprocess.Options()
            options.threadsFullres = 2
            let planned = try PlanAndPreprocess.run(taskName: task, paths: paths, options: options)
            let plans = try #require(planned.first?.plans)
            #expect(plans.normalizationSchemes == [0: "CT"] && plans.useMaskForNorm == [0: false])
            let cropped = try paths.croppedData().appendingPathComponent(task)
            #expect(FileManager.default.fileExists(atPath: cropped.appendingPathComponent("intensityproperties.json").path))
            let pooled = try #require(plans.datasetProperties?.intensityProperties?[0]?.pooled)
            let (lo, hi, mean, sd) = try (#require(pooled.percentile00_5), #require(pooled.percentile99_5),
                                          #require(pooled.mean), #require(pooled.sd))
            #expect(lo < hi && sd > 0)
            let stage = try paths.preprocessedData().appendingPathComponent(task)
                .appendingPathComponent("nnUNetData_plans_v2.1_stage0")
            for id in plans.datasetProperties?.caseIdentifiers ?? [] {
                let array = try NPY.read(stage.appendingPathComponent(id + ".npy"))
                let n = array.shape.dropFirst().reduce(1, *)
                let data = array.floats().prefix(n)
                #expect(data.min()! >= Float((lo - mean) / sd) - 1e-4 && data.max()! <= Float((hi - mean) / sd) + 1e-4)
            }
            // Anisotropic spacing: the planner's axis order puts z first; the preprocessed shape follows the plan.
            #expect(plans.transposeForward == [0, 1, 2])
            #expect(Preprocessor.separateAxis(originalSpacing: plans.originalSpacings[0], targetSpacing:
                                                plans.stage(0)?.currentSpacing ?? []) == 0)
        }
    }
}
