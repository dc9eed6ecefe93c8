import ArgumentParser

/// `nnunet install-pretrained-model-from-zip` (v1 `nnUNet_install_pretrained_model_from_zip`).
struct InstallPretrainedModelFromZipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-pretrained-model-from-zip",
        abstract: "Install a model zip into $RESULTS_FOLDER/nnUNet.",
        aliases: ["install_pretrained_model_from_zip", "nnUNet_install_pretrained_model_from_zip"]
    )

    @Argument(help: "The zip file.") var zip: String

    func run() throws {
        throw CLIError.notYetAvailable(command: "install-pretrained-model-from-zip", what: "model sharing")
    }
}
