"""The reference write-up of part3.ipynb, put into the executed reference notebook's answer cells.

The kit's part3.ipynb (reference and student versions alike) holds only the placeholder in its markdown answer
cells: markdown cells are handed out as they are, so the reference's answers cannot live there without reaching the
students. The reference-artifact step ``part3`` (reference_artifacts.py) executes the notebook, then calls
:func:`fill` so that the reference submission answers every question (rubric row 6.5). These are model answers for
the course staff; the numbers they cite are the ones the notebook prints (a reduced run prints others).
"""
from __future__ import annotations

ANSWERS = {
    1: ("CIFAR-10, whose colour photos of objects are closer to ImageNet than grayscale clothes, and two features of "
        "the pretrained network: 4 channels of an early convolution layer (the first stride-2 block, `_blocks.1` of "
        "EfficientNet-Lite0 or `layer1` of ResNet-18) at every spatial position, without pooling, so that the "
        "feature is what that layer computes: local edges and colours where they occur in the image; and the "
        "penultimate layer (the global average pooling that the final classifier reads), the most abstract features "
        "the network has. Comparing the two shows what depth adds."),
    2: ("The early layer's plot is one cloud in which the classes mix; at most the ships and airplanes (blue sky "
        "and sea) lean towards one side. The penultimate layer's plot has regions per class: automobiles and "
        "trucks, ships and airplanes lie near each other on one side (the vehicles), the animals on the other, "
        "with frogs, horses and deer forming their own groups, while cats and dogs overlap, as do birds and "
        "airplanes at the border. The network never saw CIFAR-10, yet its deep features group the images by what "
        "they show, not by where their edges are."),
    3: ("The table gives within + between = total for each layer. The between/within ratio measures how far apart "
        "the class means are compared with how spread each class is; it does not change when the features are "
        "scaled, so the two layers, whose variances differ by a factor of about 50, can be compared by it. The "
        "penultimate layer's ratio (about 0.11 in the full run) is more than three times the early layer's "
        "(about 0.03): at an early layer the same object shifted by a few pixels gives a different feature, so "
        "each class is spread almost as widely as the whole set, while the pooled deep features are nearly "
        "invariant to position. Both ratios are well below 1: most of the variance lies within the classes, which "
        "is why even the deep plot shows overlapping classes. The per-class intra variances of the deep feature are "
        "smallest for trucks, ships and automobiles, the most uniform classes, and largest for dogs and birds."),
}
HEAD = "**Answer {number}.**"


def fill(nb) -> None:
    """Replace the text of each answer cell (``**Answer N.**`` + placeholder) of a parsed notebook with ANSWERS[N]."""
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            continue
        for number, text in ANSWERS.items():
            head = HEAD.format(number=number)
            if cell.source.lstrip().startswith(head):
                cell.source = f"{head}\n\n{text}"
