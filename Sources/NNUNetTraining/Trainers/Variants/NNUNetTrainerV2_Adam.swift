import NNUNetCore

/// `nnUNetTrainerV2_Adam`: V2 with `Adam` (AMSGrad) instead of SGD.
///
/// Port of v1 `nnUNet_variants/optimizer_and_lr/nnUNetTrainerV2_Adam.py`:
/// `torch.optim.Adam(params, self.initial_lr, weight_decay=self.weight_decay, amsgrad=True)` with torch's betas
/// (0.9, 0.999) and eps 1e-8. As in v1, the initial learning rate is V2's 1e-2 (v1 does not change `initial_lr`
/// here) and V2's poly schedule still sets it every epoch; ``NNUNetTrainerV2_Adam_nnUNetTrainerlr`` starts at 3e-4.
/// The moments, AMSGrad maxima and step counts are saved in every checkpoint (`optimizer.adam.*`) and `-c`
/// restores them.
open class NNUNetTrainerV2_Adam: NNUNetTrainerV2 {
    override open class var trainerName: String { "nnUNetTrainerV2_Adam" }

    /// Adam with AMSGrad, L2 weight decay ``TrainingHyperparameters/weightDecay`` added to the gradient.
    override open func makeOptimizer(parameters: [Tensor]) -> any Optimizer {
        Adam(parameters: parameters, learningRate: Float(hyperparameters.initialLearningRate),
             weightDecay: Float(hyperparameters.weightDecay), amsgrad: true)
    }
}

/// `nnUNetTrainerV2_Adam_nnUNetTrainerlr`: ``NNUNetTrainerV2_Adam`` starting at lr 3e-4 (v1
/// `nnUNetTrainerV2_Adam_lr_3en4.py`), still on the poly schedule.
open class NNUNetTrainerV2_Adam_nnUNetTrainerlr: NNUNetTrainerV2_Adam {
    override open class var trainerName: String { "nnUNetTrainerV2_Adam_nnUNetTrainerlr" }
    override open class var defaultHyperparameters: TrainingHyperparameters {
        var h = super.defaultHyperparameters
        h.initialLearningRate = 3e-4
        return h
    }
}
