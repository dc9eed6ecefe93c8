import Foundation
import NNUNetCore
import Testing

@Suite("NetworkConfiguration and Fold")
struct OptionTypeTests {
    @Test("configurations: v1's spellings, stages, cascade, default trainers; unknown names list the allowed ones")
    func configurations() throws {
        #expect(NetworkConfiguration.allCases.map(\.rawValue)
                == ["2d", "3d_lowres", "3d_fullres", "3d_cascade_fullres"])
        #expect(NetworkConfiguration.allCases.map { "\($0)" } == NetworkConfiguration.allCases.map(\.rawValue))
        #expect(try NetworkConfiguration(validating: "3d_cascade_fullres") == .cascadeFullres)
        #expect(NetworkConfiguration.allCases.filter(\.usesFirstStage) == [.twoD, .lowres])
        #expect(NetworkConfiguration.allCases.filter(\.needsLowresStage) == [.lowres, .cascadeFullres])
        #expect(NetworkConfiguration.allCases.map { $0.stageIndex(stageCount: 2) } == [0, 0, 1, 1])
        #expect(NetworkConfiguration.fullres.stageIndex(stageCount: 1) == 0)
        #expect(NetworkConfiguration.twoD.isTwoD && NetworkConfiguration.cascadeFullres.isCascade)
        #expect(NetworkConfiguration.cascadeFullres.defaultTrainerName == "nnUNetTrainerV2CascadeFullRes")
        #expect(NetworkConfiguration.lowres.defaultTrainerName == "nnUNetTrainerV2")
        #expect(throws: CoreError.unknownConfiguration("3D_fullres")) {
            try NetworkConfiguration(validating: "3D_fullres")
        }
        #expect(CoreError.unknownConfiguration("x").description
                == "'x' is not a configuration: use one of 2d, 3d_lowres, 3d_fullres, 3d_cascade_fullres.")
        let json = try JSONEncoder().encode([NetworkConfiguration.lowres])
        #expect(String(decoding: json, as: UTF8.self) == #"["3d_lowres"]"#)
    }

    @Test("folds: numbers or all, v1's folder names, order, JSON as v1 writes it")
    func folds() throws {
        #expect(try Fold(validating: "3") == .index(3) && Fold(validating: "all") == .all)
        for bad in ["-1", "x", "", "1.5", "All"] {
            #expect(throws: CoreError.invalidFold(bad)) { try Fold(validating: bad) }
        }
        #expect("\(CoreError.invalidFold("x"))".contains("'x' is not a fold"))
        #expect(Fold.index(0).rawValue == "0" && Fold.all.description == "all")
        #expect(Fold.index(2).folderName == "fold_2" && Fold.all.folderName == "all")
        #expect(Fold(folderName: "fold_4") == .index(4) && Fold(folderName: "all") == .all)
        #expect(Fold(folderName: "fold_all") == nil && Fold(folderName: "fold_x") == nil)
        #expect(Fold(index: nil) == .all && Fold(index: 1).index == 1 && Fold.all.index == nil)
        #expect([Fold.all, .index(10), .index(2)].sorted() == [.index(2), .index(10), .all])
        #expect(Fold.defaultCrossValidation == (0..<5).map { .index($0) })
        let json = try JSONEncoder().encode([Fold.index(1), .all])
        #expect(String(decoding: json, as: UTF8.self) == #"[1,"all"]"#)
        #expect(try JSONDecoder().decode([Fold].self, from: Data(#"[0,"2","all"]"#.utf8))
                == [.index(0), .index(2), .all])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Fold].self, from: Data("[-1]".utf8)) }
    }
}
