import torch

from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


class nnUNetTrainer_goldenTiny(nnUNetTrainer):
    """Tiny trainer used to make small golden test fixtures for a port of nnU-Net v2.
    Identical to nnUNetTrainer except for the training length."""

    def __init__(self, plans: dict, configuration: str, fold: int, dataset_json: dict,
                 device: torch.device = torch.device('cuda')):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.num_epochs = 4
        self.num_iterations_per_epoch = 40
        self.num_val_iterations_per_epoch = 2
