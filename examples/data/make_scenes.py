"""Make scenes.npz: a small synthetic data set for the multi-task example.

Each 64x64 RGB image is a "scene": a background of one of ten hues (the scene
class, 0-9) with a vertical brightness gradient, in front of which one to
three grey rectangles stand at depths between 0.2 and 0.9 (nearer is
brighter; nearer rectangles hide farther ones).  The depth map is 1.0 for the
background and the rectangle's depth where it is visible.  So one network can
learn both the scene class (from the colour) and the per-pixel depth (from
the brightness), as the primer's scene/depth multi-task model does.

Generated, so it carries no licence beyond slimlang's own; re-create with

    python examples/data/make_scenes.py examples/data/scenes.npz
"""

import sys

import numpy as np

HUES = np.array([
    [200, 40, 40], [40, 160, 40], [40, 60, 200], [200, 180, 40], [160, 40, 160],
    [40, 170, 170], [220, 120, 30], [110, 60, 20], [120, 120, 120], [30, 30, 30],
], np.float32)


def make(n=400, size=64, seed=0):
    rng = np.random.RandomState(seed)
    images = np.empty((n, size, size, 3), np.uint8)
    depth = np.empty((n, size, size, 1), np.float16)
    scene = rng.randint(0, len(HUES), n).astype(np.int64)
    ramp = np.linspace(0.75, 1.0, size, dtype=np.float32)[:, None, None]
    for i in range(n):
        img = np.broadcast_to(HUES[scene[i]] * ramp, (size, size, 3)).copy()
        dep = np.ones((size, size), np.float32)
        rects = []
        for _ in range(rng.randint(1, 4)):
            h, w = rng.randint(10, 33, 2)
            y, x = rng.randint(0, size - h), rng.randint(0, size - w)
            rects.append((round(float(rng.uniform(0.2, 0.9)), 2), y, x, h, w))
        for d, y, x, h, w in sorted(rects, reverse=True):  # far first: near ones cover them
            img[y:y + h, x:x + w] = 255.0 * (1.1 - d)
            dep[y:y + h, x:x + w] = d
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
        depth[i, :, :, 0] = dep
    return images, scene, depth


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "scenes.npz"
    images, scene, depth = make()
    np.savez_compressed(out, images=images, scene=scene, depth=depth)
    print(f"wrote {out}: {len(images)} scenes")
