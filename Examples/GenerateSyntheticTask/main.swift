// Example: generate a synthetic nnU-Net task from Swift code, check it, and read one case back.
//
//   swift run GenerateSyntheticTask [OUTPUT_FOLDER]
//
// Uses only NNUNetCore's public API: SyntheticTaskGenerator, DatasetIntegrity, RawTask and NIfTI.
import Foundation
import NNUNetCore

let output = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "synthetic_raw_data", isDirectory: true)

var configuration = SyntheticTaskConfiguration()
configuration.taskID = 501
configuration.name = "ExampleSpheres"
configuration.trainingCases = 6
configuration.testCases = 2
configuration.shape = [32, 40, 36]
configuration.spacing = [3.0, 0.8, 0.8]  // anisotropic: thick slices along z
configuration.modalities = ["T1", "T2"]
configuration.seed = 2024

do {
    let task = try SyntheticTaskGenerator.generate(configuration, rawDataFolder: output)
    print("wrote \(task.path)")

    let report = try DatasetIntegrity.verify(taskFolder: task)
    print(report.isOK ? "integrity check passed" : "integrity problems: \(report.problems)")

    let raw = try RawTask(folder: task)
    if let first = raw.trainingCases.first, let labelFile = first.labelFile {
        let image = try NIfTI.read(first.imageFiles[0])
        let label = try NIfTI.read(labelFile)
        let foreground = label.data.filter { $0 > 0 }.count
        print("\(first.identifier): shape (z, y, x) \(image.shape), spacing \(image.geometry.spacing), "
              + "\(foreground) foreground voxels, labels \(Set(label.data.map(Int.init)).sorted())")
    }
} catch {
    print("error: \(error)")
    exit(1)
}
