#!/usr/bin/python3
"""Copy freshly trained models into the repository: the weights and their files into
resources/models/, the bundled test images and the figures the tests check against into
tests/data/default-models/, the per-class sample pictures into resources/samples/fashion/.

Usage: /usr/bin/python3 tools/train/ship.py OUT_TEXT OUT_VISION VISION_BUNDLE VISION_SAMPLES
"""
import json
import os
import shutil
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def copy(src_dir, names, dst_dir):
    os.makedirs(dst_dir, exist_ok=True)
    for name in names:
        shutil.copyfile(os.path.join(src_dir, name), os.path.join(dst_dir, name))


def main():
    text, vision, bundle, samples = sys.argv[1:5]
    copy(text, ["config.json", "model.safetensors", "tokenizer.json"],
         os.path.join(ROOT, "resources/models/default"))
    copy(vision, ["config.json", "model.safetensors", "preprocessor_config.json"],
         os.path.join(ROOT, "resources/models/default-vision"))
    data = os.path.join(ROOT, "tests/data/default-models")
    os.makedirs(data, exist_ok=True)
    for src, dst in (("images.u8", "fashion-images.u8"), ("labels.u8", "fashion-labels.u8"),
                     ("predicted.u8", "fashion-torch-predicted.u8")):
        shutil.copyfile(os.path.join(bundle, src), os.path.join(data, dst))
    fashion = os.path.join(ROOT, "resources/samples/fashion")
    os.makedirs(fashion, exist_ok=True)
    for name in sorted(os.listdir(samples)):
        shutil.copyfile(os.path.join(samples, name), os.path.join(fashion, name))
    with open(os.path.join(text, "report.json")) as f:
        t = json.load(f)
    with open(os.path.join(vision, "report.json")) as f:
        v = json.load(f)
    expected = {"previous_token": t["best_previous_token"][0],
                "induction": t["best_induction"][0],
                "heldout_perplexity": t["heldout_perplexity"],
                "unigram_perplexity": t["unigram_perplexity"],
                "test_accuracy": v["test_accuracy"],
                "bundle_accuracy": v["bundle_accuracy"],
                "bundle_images": v["bundle_images"]}
    with open(os.path.join(data, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    with open(os.path.join(data, "text-report.json"), "w") as f:
        json.dump(t, f, indent=1)
    with open(os.path.join(data, "vision-report.json"), "w") as f:
        json.dump(v, f, indent=1)
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
