"""The PyTorch notebook's code, one module per part, under CS231n's names.

- data: CIFAR-10 as normalized tensors, augmentation, loaders
- barebones (Part II): `flatten`, `two_layer_fc`, `three_layer_convnet`, `random_weight`,
  `check_accuracy_part2`, `train_part2`
- modules (Parts III-IV): `TwoLayerFC`, `ThreeLayerConvNet`, the nn.Sequential model,
  `check_accuracy_part34`, `train_part34`
- open_ended (Part V): `ResNet9`, `one_cycle_schedule`, `build_open_ended`

Unlike CS231n, nothing reads a global `device` or `loader_train`: every function takes
what it uses as arguments.
"""
