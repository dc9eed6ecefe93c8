import ArgumentParser
import Foundation
import NNUNetCore

/// `nnunet install-pretrained-model-from-zip` (v1 `nnUNet_install_pretrained_model_from_zip`).
struct InstallPretrainedModelFromZipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-pretrained-model-from-zip",
        abstract: "Install a model zip into $RESULTS_FOLDER/nnUNet.",
        discussion: """
            The archive's paths are relative to $RESULTS_FOLDER/nnUNet (v1's layout, e.g. \
            3d_fullres/Task004_Hippocampus/nnUNetTrainerV2__nnUNetPlansv2.1/fold_0/...). Entries that would land \
            outside that folder (absolute paths, '..', symbolic links) are refused, and the archive is verified \
            completely before any file is moved into place.
            """,
        aliases: ["install_pretrained_model_from_zip", "nnUNet_install_pretrained_model_from_zip"]
    )

    @Argument(help: "The zip file.") var zip: String

    func run() throws {
        let destination = try EnvironmentPaths.current().trainedModels()
        let installed = try SafeZipExtractor.extract(URL(fileURLWithPath: zip), into: destination)
        print("Installed \(installed.count) files into \(destination.path)")
    }
}
