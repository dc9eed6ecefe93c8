// swift-tools-version: 6.0
//
// nnU-Net (v1) for Swift: a self-configuring medical image segmentation framework.
// Library first: four library targets, one thin executable (`nnunet`), examples and tests.

import PackageDescription

/// `nifti1_io.h`/`nifti2_io.h` include `<znzlib.h>`, which Debian installs in /usr/include/nifti.
/// Every target that (transitively) imports the CNIfTI module needs the search path.
let niftiInclude: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-I/usr/include/nifti"])]

let package = Package(
    name: "NNUNet",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "NNUNetCore", targets: ["NNUNetCore"]),
        .library(name: "NNUNetPlanning", targets: ["NNUNetPlanning"]),
        .library(name: "NNUNetTraining", targets: ["NNUNetTraining"]),
        .library(name: "NNUNetEvaluation", targets: ["NNUNetEvaluation"]),
        .executable(name: "nnunet", targets: ["nnunet-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        // System libraries from Debian: libnifti2-dev, libopenblas-dev, liblapacke-dev, zlib1g-dev, libcairo2-dev.
        .systemLibrary(name: "CNIfTI", path: "Sources/CNIfTI"),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CLAPACKE", path: "Sources/CLAPACKE"),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo"),
        // glibc's <malloc.h> (mallopt), for AllocatorTuning.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        .target(
            name: "NNUNetCore",
            dependencies: ["CNIfTI", "COpenBLAS", "CLAPACKE", "CMalloc", "ZIPFoundation"],
            swiftSettings: niftiInclude
        ),
        .target(name: "NNUNetPlanning", dependencies: ["NNUNetCore"], swiftSettings: niftiInclude),
        // Evaluation reads v1's saved case properties (CASE.pkl) for ensembling; Planning never imports Evaluation.
        .target(name: "NNUNetEvaluation", dependencies: ["NNUNetCore", "NNUNetPlanning"], swiftSettings: niftiInclude),
        .target(
            name: "NNUNetTraining",
            dependencies: ["NNUNetCore", "NNUNetPlanning", "NNUNetEvaluation", "CCairo"],
            swiftSettings: niftiInclude
        ),
        .executableTarget(
            name: "nnunet-cli",
            dependencies: [
                "NNUNetCore", "NNUNetPlanning", "NNUNetTraining", "NNUNetEvaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: niftiInclude
        ),

        // Examples: programs a user would write against the public API. Built in CI.
        .executableTarget(
            name: "GenerateSyntheticTask",
            dependencies: ["NNUNetCore"],
            path: "Examples/GenerateSyntheticTask",
            swiftSettings: niftiInclude
        ),

        .executableTarget(
            name: "CustomLossTrainer",
            dependencies: ["NNUNetCore", "NNUNetPlanning", "NNUNetTraining"],
            path: "Examples/CustomLossTrainer",
            swiftSettings: niftiInclude
        ),

        .executableTarget(
            name: "PredictFromSwift",
            dependencies: ["NNUNetCore", "NNUNetTraining"],
            path: "Examples/PredictFromSwift",
            swiftSettings: niftiInclude
        ),

        .testTarget(name: "NNUNetCoreTests", dependencies: ["NNUNetCore", "CMalloc"], swiftSettings: niftiInclude),
        .testTarget(name: "NNUNetPlanningTests", dependencies: ["NNUNetPlanning"], swiftSettings: niftiInclude),
        .testTarget(
            name: "NNUNetEvaluationTests", dependencies: ["NNUNetEvaluation", "NNUNetPlanning"], swiftSettings: niftiInclude
        ),
        .testTarget(
            name: "NNUNetTrainingTests",
            dependencies: ["NNUNetTraining", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: niftiInclude
        ),
        .testTarget(
            name: "NNUNetCLITests",
            dependencies: [
                "nnunet-cli", "NNUNetCore", "NNUNetPlanning", "NNUNetTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: niftiInclude
        ),
    ]
)
