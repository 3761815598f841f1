"""Test accuracy of a saved TwoLayerNet checkpoint. Run it once, at the very end (python test.py)."""
import argparse

from data import DataSampler, load_cifar10
from two_layer_net import TwoLayerNet
from utils import check_accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print the CIFAR-10 test accuracy of a checkpoint.")
    parser.add_argument("--checkpoint-file", default="checkpoint.pkl", help="the weights saved by train.py")
    parser.add_argument("--batch-size", type=int, default=1000, help="images per forward pass")
    parser.add_argument("--data-dir", default="cifar-10-batches-py", help="the CIFAR-10 batches folder")
    args = parser.parse_args(argv)
    data = load_cifar10(args.data_dir, num_train=0, num_val=0, num_test=10000)
    model = TwoLayerNet.load(args.checkpoint_file)
    sampler = DataSampler(data["X_test"], data["y_test"], args.batch_size, shuffle=False)
    accuracy = check_accuracy(model, sampler)
    print(f"Test accuracy: {accuracy:.2f}%")
    return accuracy


if __name__ == "__main__":
    main()
