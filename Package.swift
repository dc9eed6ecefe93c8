// swift-tools-version: 6.0
//
// nnU-Net (v1) for Swift: a self-configuring medical image segmentation framework.
// Library first: four library targets, one thin executable (`nnunet`, user commands only), a separate
// `nnunet-benchmark` executable for measurements, examples and tests.

import PackageDescription

let package = Package(
    name: "NNUNet",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "NNUNetCore", targets: ["NNUNetCore"]),
        .library(name: "NNUNetPlanning", targets: ["NNUNetPlanning"]),
        .library(name: "NNUNetTraining", targets: ["NNUNetTraining"]),
        .library(name: "NNUNetEvaluation", targets: ["NNUNetEvaluation"]),
        .executable(name: "nnunet", targets: ["nnunet-cli"]),
        .executable(name: "nnunet-benchmark", targets: ["nnunet-benchmark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // System libraries from Debian: libnifti2-dev, libopenblas-dev, zlib1g-dev, libdeflate-dev, libcairo2-dev.
        // libnifti is a C target (not a system library) so that its public include folder, which forwards
        // <znzlib.h> to Debian's /usr/include/nifti, reaches every dependent: no unsafe build flags anywhere,
        // so other packages can depend on this one by version.
        .target(name: "CNIfTI", path: "Sources/CNIfTI"),
        // Vector kernels in C: Swift code is compiled for the baseline x86-64 (SSE2) unless unsafe flags ask for
        // more, while C functions can carry AVX2 and AVX-512 clones that the loader picks per CPU.
        .target(name: "CNNUNetKernels", path: "Sources/CNNUNetKernels"),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]
        ),
        .systemLibrary(
            name: "CDeflate", path: "Sources/CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]
        ),
        // glibc's <malloc.h> (mallopt), for AllocatorTuning.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        .target(
            name: "NNUNetCore",
            dependencies: ["CNIfTI", "CNNUNetKernels", "CDeflate", "COpenBLAS", "CMalloc", "ZIPFoundation"]
        ),
        .target(name: "NNUNetPlanning", dependencies: ["NNUNetCore"]),
        // Evaluation reads v1's saved case properties (CASE.pkl) for ensembling; Planning never imports Evaluation.
        .target(name: "NNUNetEvaluation", dependencies: ["NNUNetCore", "NNUNetPlanning"]),
        .target(
            name: "NNUNetTraining",
            dependencies: ["NNUNetCore", "NNUNetPlanning", "NNUNetEvaluation", "CCairo"]
        ),
        .executableTarget(
            name: "nnunet-cli",
            dependencies: [
                "NNUNetCore", "NNUNetPlanning", "NNUNetTraining", "NNUNetEvaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Measurements of the hot paths, side by side with the Python peers: apart from `nnunet`, which ships none.
        .executableTarget(
            name: "nnunet-benchmark",
            dependencies: [
                "NNUNetCore", "NNUNetPlanning", "NNUNetTraining", "NNUNetEvaluation", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/nnunet-benchmark"
        ),

        // Examples: programs a user would write against the public API. Built in CI.
        .executableTarget(
            name: "GenerateSyntheticTask",
            dependencies: ["NNUNetCore"],
            path: "Examples/GenerateSyntheticTask"
        ),

        .executableTarget(
            name: "CustomLossTrainer",
            dependencies: ["NNUNetCore", "NNUNetPlanning", "NNUNetTraining"],
            path: "Examples/CustomLossTrainer"
        ),

        .executableTarget(
            name: "PredictFromSwift",
            dependencies: ["NNUNetCore", "NNUNetTraining"],
            path: "Examples/PredictFromSwift"
        ),

        // Where the tests find their data (in-repository fixtures, optional large data); shared by every test target.
        .target(name: "NNUNetTestSupport", path: "Tests/NNUNetTestSupport"),
        .testTarget(name: "NNUNetCoreTests", dependencies: ["NNUNetCore", "CMalloc", "NNUNetTestSupport"]),
        .testTarget(name: "NNUNetPlanningTests", dependencies: ["NNUNetPlanning", "NNUNetTestSupport"]),
        .testTarget(
            name: "NNUNetEvaluationTests", dependencies: ["NNUNetEvaluation", "NNUNetPlanning", "NNUNetTestSupport"]
        ),
        .testTarget(
            name: "NNUNetTrainingTests",
            dependencies: [
                "NNUNetTraining", "NNUNetTestSupport", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        .testTarget(
            name: "NNUNetCLITests",
            dependencies: [
                "nnunet-cli", "nnunet-benchmark", "NNUNetTestSupport", "NNUNetCore", "NNUNetPlanning", "NNUNetTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ]
)
