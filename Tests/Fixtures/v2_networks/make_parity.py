"""Makes resenc_parity_3d.pt and resenc_parity_2d.pt: a small dynamic_network_architectures ResidualEncoderUNet (as
nnU-Net v2's ResEnc planners configure it), its state dict with randomised norm parameters, an input and the network's
output in evaluation mode. Run with the nnU-Net v2 peer (dynamic_network_architectures 0.4.4, torch 2.13 CPU):

    python make_parity.py OUTPUT_FOLDER
"""
import sys

import torch
from torch import nn
from dynamic_network_architectures.architectures.unet import ResidualEncoderUNet


def make(name, conv, norm, kernels, strides, blocks, decoder, features, shape, channels, classes, seed):
    torch.manual_seed(seed)
    net = ResidualEncoderUNet(
        input_channels=channels, n_stages=len(features), features_per_stage=features, conv_op=conv,
        kernel_sizes=kernels, strides=strides, n_blocks_per_stage=blocks, num_classes=classes,
        n_conv_per_stage_decoder=decoder, conv_bias=True, norm_op=norm, norm_op_kwargs={"eps": 1e-5, "affine": True},
        dropout_op=None, dropout_op_kwargs=None, nonlin=nn.LeakyReLU, nonlin_kwargs={"inplace": True},
        deep_supervision=False)
    with torch.no_grad():
        for key, value in net.state_dict().items():
            if ".norm." in key:  # non-trivial affine parameters, so that γ and β are exercised
                value.copy_(torch.rand_like(value) + 0.5 if key.endswith("weight") else torch.randn_like(value) * 0.1)
    net.eval()
    x = torch.randn(1, channels, *shape)
    with torch.no_grad():
        y = net(x)
    torch.save({"network_weights": net.state_dict(), "input": x, "output": y}, f"{sys.argv[1]}/{name}")


make("resenc_parity_3d.pt", nn.Conv3d, nn.InstanceNorm3d, kernels=[[1, 3, 3], [3, 3, 3], [3, 3, 3]],
     strides=[[1, 1, 1], [1, 2, 2], [2, 2, 2]], blocks=[1, 2, 2], decoder=[1, 1], features=[4, 8, 12],
     shape=(4, 12, 16), channels=2, classes=3, seed=0)
make("resenc_parity_2d.pt", nn.Conv2d, nn.InstanceNorm2d, kernels=[[3, 3], [3, 3], [3, 3], [3, 3]],
     strides=[[1, 1], [2, 2], [2, 1], [1, 1]], blocks=[1, 3, 2, 1], decoder=[1, 2, 1], features=[4, 4, 8, 12],
     shape=(16, 8), channels=1, classes=2, seed=1)
