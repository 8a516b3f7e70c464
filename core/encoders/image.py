"""Image encoders: one CNN cut into a trunk and a tail, or several CNNs' vectors side by side.

Both read files the same way (decoded in threads, large JPEGs at reduced size, EXIF upright) and
return L2-normalised float32 rows. The trunk is where a child-photo head branches off, so one
forward pass gives a photo's search vector and its child check. Each CNN's runtime
(core.encoders.runtime: PyTorch or ONNX Runtime, as $WITHSENSE_RUNTIME says) runs its network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from core.encoders.base import EncoderSpec, LazyModel, normalise, torch_threads
from core.encoders.runtime import PhotoRuntime
from core.foundation.images import ImageError, load_image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Large JPEGs are decoded at a reduced scale that keeps both sides at least this long: twice the
# networks' 224 px input, so Flickr-sized photos (500 px) decode exactly as before.
DRAFT_SIDE = 448
TrunkHook = Callable[[Any], None]
BatchTrunkHook = Callable[[list[int], Any], None]
Transform = Callable[[Image.Image], Image.Image]
Prepared = TypeVar("Prepared")


def decoded_batches(paths: Sequence[Path], prepare: Callable[[Image.Image], Prepared],
                    batch_size: int, workers: int, failures: dict[int, str],
                    progress: Callable[[int], None] | None = None,
                    ) -> Iterator[tuple[list[int], list[Prepared]]]:
    """(positions, prepared images) of each batch's readable files; unreadable ones go into
    `failures` with the reason. Decoding in threads (JPEG work releases the GIL), one batch
    ahead of the caller's inference."""

    def one(index: int) -> tuple[int, Prepared | None]:
        try:
            return index, prepare(load_image(paths[index], draft_side=DRAFT_SIDE))
        except ImageError as exc:
            failures[index] = str(exc)
            return index, None

    starts = range(0, len(paths), batch_size)
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def submit(start: int) -> list[Future[tuple[int, Prepared | None]]]:
            return [pool.submit(one, i) for i in range(start, min(start + batch_size, len(paths)))]

        pending = submit(0) if len(paths) else []
        for start in starts:
            prepared = [future.result() for future in pending]
            # the next batch decodes while the caller runs the network on this one
            pending = submit(start + batch_size) if start + batch_size < len(paths) else []
            good = [(i, p) for i, p in prepared if p is not None]
            if good:
                yield [i for i, _ in good], [p for _, p in good]
            if progress is not None:
                progress(len(prepared))


class CnnImageEncoder(LazyModel[tuple[Any, Any]]):
    """A CNN up to its global pooling layer, as a trunk and a tail; images squeezed to size x size
    like the corpus. `weights` lists the files its weights come from: an exported copy of the
    network (its `runtime`) is told current by them."""

    def __init__(self, spec: EncoderSpec, build: Callable[[], Any], size: int = 224,
                 mean: tuple[float, float, float] = IMAGENET_MEAN,
                 std: tuple[float, float, float] = IMAGENET_STD, flip: bool = False,
                 weights: Callable[[], Sequence[Path]] | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.flip = flip
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        self.name = spec.name
        self.dim = spec.dim
        self.size = size
        self._build = build
        self._trunk_shape: tuple[int, ...] | None = None
        self.runtime = PhotoRuntime(spec.name, size, self._network, weights)

    @property
    def tail_dim(self) -> int:
        """Length of the tail's output, the vector a child-photo head reads."""
        return self.dim

    def _build_model(self) -> tuple[Any, Any]:
        import torch

        trunk, tail = self._build()
        return trunk.eval().to(memory_format=torch.channels_last), tail.eval()

    def _load(self) -> tuple[Any, Any]:
        """(trunk, tail): the CNN split where a child-photo head branches off (see `tail_copy`)."""
        return self.loaded()

    def _network(self) -> Any:
        """The whole network, trunk then tail, as one module (what the runtime exports)."""
        from torch import nn

        return nn.Sequential(*self._load())

    def trunk_shape(self) -> tuple[int, ...]:
        """(channels, height, width) of the trunk's output for one photo."""
        if self._trunk_shape is None:
            import torch

            trunk, _ = self._load()
            with torch.inference_mode():
                probe = trunk(torch.zeros(1, 3, self.size, self.size))
            self._trunk_shape = tuple(int(d) for d in probe.shape[1:])
        return self._trunk_shape

    def tail_is_whole_network(self) -> bool:
        """Whether the trunk is empty (a network fine-tuned whole): a head on its tail relearns
        every layer from the pixels."""
        return len(self._load()[0]) == 0

    def tail_copy(self) -> Any:
        """A trainable copy of the layers after the trunk, ending in the pooled vector."""
        import copy

        return copy.deepcopy(self._load()[1]).train()

    def preprocess(self, image: Image.Image) -> np.ndarray:
        # Most corpus photos are 224x224 squeezed copies: squeezing every photo the same way
        # keeps the test photos (originals) in the distribution the towers were trained on.
        resized = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        array = np.asarray(resized, dtype=np.float32) / 255.0
        array = (array - self.mean) / self.std
        return array.transpose(2, 0, 1)

    def encode_arrays(self, batch: np.ndarray, on_trunk: TrunkHook | None = None) -> np.ndarray:
        """Vectors of preprocessed images; `on_trunk` also receives the trunk's output (one
        forward pass serves both the search vector and the child-photo head). The runtime's
        exported network runs when it has one and no trunk is wanted; PyTorch otherwise."""
        exported = self.runtime.network(needs_trunk=on_trunk is not None)
        if exported is not None:
            pooled = exported(batch)
            if self.flip:
                pooled = pooled + exported(batch[..., ::-1])
            return normalise(pooled)
        import torch

        trunk, tail = self._load()
        torch_threads()
        with torch.inference_mode():
            tensor = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
            middle = trunk(tensor)
            if on_trunk is not None:
                on_trunk(middle)
            pooled = tail(middle).flatten(1)
            if self.flip:  # test-time augmentation: the mirror image describes the same scene
                pooled = pooled + tail(trunk(tensor.flip(3))).flatten(1)
            return normalise(pooled.numpy())

    def cell_vectors(self, image: Image.Image) -> np.ndarray:
        """(rows, cols, dim): the last feature map before pooling, one vector per cell of the
        photo's grid (7x7 at 224 px). Their mean is the pooled vector (mean pooling), so a cell's
        vector read like a photo's says how much that part of the photo carries a match."""
        import torch

        trunk, tail = self._load()
        torch_threads()
        with torch.inference_mode():
            tensor = torch.from_numpy(self.preprocess(image)[None]).contiguous(
                memory_format=torch.channels_last)
            grid = tail[:-2](trunk(tensor))  # every tail ends in (pooling, flatten)
        return np.ascontiguousarray(grid[0].permute(1, 2, 0).numpy(), dtype=np.float32)

    def encode_paths(self, paths: Sequence[Path], batch_size: int = 32,
                     progress: Callable[[int], None] | None = None, workers: int = 4,
                     on_trunk: BatchTrunkHook | None = None, transform: Transform | None = None
                     ) -> tuple[np.ndarray, dict[int, str]]:
        """Encode files; returns (vectors, {position: reason}) with zero rows for failures.
        `on_trunk(positions, trunk output)` is called for each batch of readable files;
        `transform` changes each decoded photo first (evaluate's shifts)."""
        out = np.zeros((len(paths), self.dim), dtype=np.float32)
        failures: dict[int, str] = {}
        prepare = self.preprocess if transform is None else (lambda im: self.preprocess(transform(im)))
        for rows, arrays in decoded_batches(paths, prepare, batch_size, workers, failures,
                                            progress):
            hook = None if on_trunk is None else (lambda middle, rows=rows: on_trunk(rows, middle))
            out[rows] = self.encode_arrays(np.stack(arrays), hook)
        return out, failures

    def calibrate_int8(self, paths: Sequence[Path], cache_dir: Path | None = None) -> list[Path]:
        """Quantize the network to int8 for the onnx-int8 runtime, calibrated on these photos
        (training photos only); returns the int8 file, in a list as the joined encoder's."""
        return [self.runtime.calibrate(*_prepared(paths, self.preprocess), cache_dir)]

    def int8_ready(self) -> bool:
        """Whether an int8 network for the current weights is in the cache (calibrated before)."""
        return self.runtime.int8_ready()


def _prepared(paths: Sequence[Path], prepare: Callable[[Image.Image], Any]) -> tuple[Any, list[str]]:
    """(`prepare` of each readable photo, stacked; their names) for int8 calibration."""
    failures: dict[int, str] = {}
    batches = list(decoded_batches(paths, prepare, 16, 4, failures))
    rows = [i for positions, _ in batches for i in positions]
    if not rows:
        raise ValueError(f"int8 calibration needs readable photos; none of {len(paths)} was")
    prepared = [p for _, part in batches for p in part]
    return (np.stack(prepared) if isinstance(prepared[0], np.ndarray) else prepared,
            [Path(paths[i]).name for i in rows])


class JoinedImageEncoder(LazyModel[tuple[CnnImageEncoder, ...]]):
    """Several CNNs' vectors side by side, each normalised so each counts alike, then the whole:
    two networks trained differently see different things (measured in docs/experiments.md's ablation). Each
    photo is decoded once and resized for each member. Member `child_member`'s trunk and tail
    serve the child-photo head."""

    def __init__(self, spec: EncoderSpec, members: Callable[[], Sequence[CnnImageEncoder]],
                 child_member: int = 0) -> None:
        super().__init__()
        self.spec = spec
        self.name = spec.name
        self.dim = spec.dim
        self.child_member = child_member
        self._resolve = members

    def _build_model(self) -> tuple[CnnImageEncoder, ...]:
        return tuple(self._resolve())

    def members(self) -> tuple[CnnImageEncoder, ...]:
        return self.loaded()

    @property
    def tail_dim(self) -> int:
        return self.members()[self.child_member].tail_dim

    def trunk_shape(self) -> tuple[int, ...]:
        return self.members()[self.child_member].trunk_shape()

    def tail_is_whole_network(self) -> bool:
        return self.members()[self.child_member].tail_is_whole_network()

    def tail_copy(self) -> Any:
        return self.members()[self.child_member].tail_copy()

    def encode_paths(self, paths: Sequence[Path], batch_size: int = 32,
                     progress: Callable[[int], None] | None = None, workers: int = 4,
                     on_trunk: BatchTrunkHook | None = None, transform: Transform | None = None
                     ) -> tuple[np.ndarray, dict[int, str]]:
        """As :meth:`CnnImageEncoder.encode_paths`; `on_trunk` gets member `child_member`'s trunk."""
        members = self.members()
        out = np.zeros((len(paths), self.dim), dtype=np.float32)
        failures: dict[int, str] = {}

        def prepare(image: Image.Image) -> list[np.ndarray]:
            image = image if transform is None else transform(image)
            return [member.preprocess(image) for member in members]

        for rows, arrays in decoded_batches(paths, prepare, batch_size, workers, failures, progress):
            parts = []
            for k, member in enumerate(members):
                wanted = on_trunk is not None and k == self.child_member
                hook = (lambda middle, rows=rows: on_trunk(rows, middle)) if wanted else None
                parts.append(member.encode_arrays(np.stack([a[k] for a in arrays]), hook))
            out[rows] = normalise(np.hstack(parts))
        return out, failures

    def calibrate_int8(self, paths: Sequence[Path], cache_dir: Path | None = None) -> list[Path]:
        """As :meth:`CnnImageEncoder.calibrate_int8`, for each member; each photo decoded once."""
        members = self.members()
        prepared, names = _prepared(paths, lambda image: [m.preprocess(image) for m in members])
        return [member.runtime.calibrate(np.stack([p[k] for p in prepared]), names, cache_dir)
                for k, member in enumerate(members)]

    def int8_ready(self) -> bool:
        """As :meth:`CnnImageEncoder.int8_ready`, for every member."""
        return all(member.int8_ready() for member in self.members())

    def cell_vectors(self, image: Image.Image) -> np.ndarray:
        """As :meth:`CnnImageEncoder.cell_vectors`, each member's grid pooled to the coarsest
        one's (Lite2's 9x9 to Lite0's 7x7) and each cell joined as photos' vectors are."""
        import torch
        from torch.nn.functional import adaptive_avg_pool2d

        grids = [member.cell_vectors(image) for member in self.members()]
        rows = min(g.shape[0] for g in grids)
        cols = min(g.shape[1] for g in grids)
        parts = []
        for grid in grids:
            if grid.shape[:2] != (rows, cols):
                pooled = adaptive_avg_pool2d(torch.from_numpy(grid).permute(2, 0, 1), (rows, cols))
                grid = pooled.permute(1, 2, 0).numpy()
            parts.append(normalise(grid.reshape(rows * cols, -1)))
        return normalise(np.hstack(parts)).reshape(rows, cols, -1)
