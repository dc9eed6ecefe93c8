import ArgumentParser
import Foundation
import NNUNetCore

/// `nnunet convert-decathlon-task` (v1 `nnUNet_convert_decathlon_task`).
struct ConvertDecathlonTaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-decathlon-task",
        abstract: "Convert a Medical Segmentation Decathlon task folder into nnU-Net's raw layout.",
        discussion: """
            Reads an MSD folder (dataset.json, imagesTr/, labelsTr/, imagesTs/) and writes \
            $nnUNet_raw_data_base/nnUNet_raw_data/TaskXXX_NAME/ with one file per modality (CASE_0000.nii.gz, \
            CASE_0001.nii.gz, ...): 3D images are copied byte for byte, 4D images are split into channels. The input \
            folder is never modified. The task id comes from the folder name (TaskXX_NAME) or -output_task_id; the \
            name from the folder name or dataset.json's "name".
            """,
        aliases: ["convert_decathlon_task"]
    )

    @Option(name: .customShort("i"), help: "The MSD task folder (e.g. Task04_Hippocampus).")
    var input: String

    @Option(name: [.customLong("output_task_id", withSingleDash: true), .customLong("output-task-id")],
            help: "Task id of the output (default: the id in the input folder's name).")
    var outputTaskID: Int?

    @Option(name: .customShort("p"), help: "Number of worker threads.")
    var processes: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        let paths = EnvironmentPaths.current()
        let output = try DecathlonConverter.convert(
            msdFolder: URL(fileURLWithPath: input, isDirectory: true), outputTaskID: outputTaskID,
            rawDataFolder: try paths.rawData(), threads: processes
        ) { done, total in
            ProgressLine.update("converting", done, total)
        }
        ProgressLine.finish()
        print("Wrote \(output.path)")
    }
}
