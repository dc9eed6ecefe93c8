#if canImport(Glibc)
@preconcurrency import Glibc  // `stdout`, a C global, for setvbuf
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif
import ArgumentParser
import NNUNetCore

/// `nnunet`: nnU-Net v1's command-line entry points as subcommands of one executable.
///
/// Each v1 entry point (`nnUNet_plan_and_preprocess`, `nnUNet_train`, ...) is a kebab-case subcommand with the v1
/// underscore spelling as an alias (`plan_and_preprocess`), and v1's flag spellings are accepted.
@main
struct NNUNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nnunet",
        abstract: "Self-configuring medical image segmentation (nnU-Net v1) in Swift.",
        discussion: """
            Folders come from the environment variables nnU-Net v1 uses: nnUNet_raw_data_base, \
            nnUNet_preprocessed and RESULTS_FOLDER. The typical workflow:

              nnunet convert-decathlon-task -i /data/Task04_Hippocampus
              nnunet plan-and-preprocess -t 4 --verify_dataset_integrity
              nnunet train 3d_fullres nnUNetTrainerV2 4 0
              nnunet predict -i INPUT -o OUTPUT -t 4 -m 3d_fullres
              nnunet evaluate-folder -ref GT -pred OUTPUT -l 1 2

            'nnunet quickstart' runs all of it on a generated dataset.
            """,
        subcommands: [
            QuickstartCommand.self,
            ConvertDecathlonTaskCommand.self,
            VerifyDatasetCommand.self,
            GenerateSyntheticTaskCommand.self,
            PlanAndPreprocessCommand.self,
            TrainCommand.self,
            PredictCommand.self,
            PredictFromModelFolderCommand.self,
            ApplyPostprocessingCommand.self,
            EvaluateFolderCommand.self,
            DeterminePostprocessingCommand.self,
            EnsembleCommand.self,
            FindBestConfigurationCommand.self,
            ExportModelToZipCommand.self,
            ConvertV1ModelCommand.self,
            InstallPretrainedModelFromZipCommand.self,
        ]
    )

    /// Before any command runs: line-buffers standard output, so that each line reaches a log file or a pipe as it is
    /// printed (`nohup nnunet train ... > log.txt`; block-buffered, a redirected run showed nothing for minutes), sets
    /// OpenBLAS to one thread (the kernels split the work themselves) and tunes the allocator for large short-lived
    /// buffers (``ProcessTuning/apply(_:)``). These are the executable's choices: the libraries never make them.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        ProcessTuning.apply()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
