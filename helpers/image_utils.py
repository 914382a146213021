"""Images in and out of the networks of assignment 3: normalization for a model, blur and jitter
(the regularizers of class visualization), loading files and URLs."""

import io
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from scipy.ndimage import gaussian_filter1d

from helpers._checks import positive_int, positive_number

# ImageNet channel statistics (pixels in [0, 1]) that SqueezeNet's weights were trained with.
SQUEEZENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
SQUEEZENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class ImageDownloadError(OSError):
    """An image URL could not be read (offline, refused, not found, not an image)."""


def _as_pil(img, name="img"):
    """A PIL RGB image from a PIL image or a uint8 array of shape (H, W, 3)."""
    if isinstance(img, Image.Image):
        return img.convert("RGB")
    array = np.asarray(img)
    if array.dtype != np.uint8:
        raise ValueError(f"{name} must be a PIL image or a uint8 array of shape (H, W, 3) with pixel values "
                         f"0..255, got dtype {array.dtype}")
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got {array.shape}")
    return Image.fromarray(array)


def _stats(mean, std):
    mean, std = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
    if mean.shape != (3,) or std.shape != (3,) or np.any(std <= 0):
        raise ValueError(f"mean and std must be three numbers (std > 0), got {mean} and {std}")
    return mean, std


def preprocess(img, size=224, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD):
    """
    Turn an image into the normalized batch of one that a network takes.

    Inputs:
    - img: A PIL image, or a uint8 array of shape (H, W, 3)
    - size: Resize so that the shorter side has this many pixels (bilinear, as torchvision's
      Resize); None keeps the size
    - mean, std: Per-channel statistics of the network's training images (pixels in [0, 1])

    Returns:
    - A float32 tensor of shape (1, 3, H', W'): (pixels / 255 - mean) / std
    """
    mean, std = _stats(mean, std)
    img = _as_pil(img)
    steps = [] if size is None else [T.Resize(positive_int("size", size))]
    transform = T.Compose(steps + [T.ToTensor(), T.Normalize(mean=mean.tolist(), std=std.tolist())])
    return transform(img)[None]  # (1, 3, H', W')


def preprocess_batch(X, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD, image_size=None):
    """
    Normalize a batch of images of the size the network expects, without resizing.

    Inputs:
    - X: uint8 array of shape (N, H, W, 3), pixel values 0..255
    - mean, std: Per-channel statistics, as in preprocess
    - image_size: If given, H and W must both equal it

    Returns:
    - A float32 tensor of shape (N, 3, H, W)
    """
    mean, std = _stats(mean, std)
    X = np.asarray(X)
    if X.dtype != np.uint8:
        raise ValueError(f"X must be uint8 images with pixel values 0..255, got dtype {X.dtype}")
    expected = "(N, H, W, 3)" if image_size is None else f"(N, {image_size}, {image_size}, 3)"
    if X.ndim != 4 or X.shape[3] != 3 or (image_size is not None and X.shape[1:3] != (image_size, image_size)):
        raise ValueError(f"X must have shape {expected}, got {X.shape}")
    x = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2))).float() / 255.0  # (N, 3, H, W)
    return (x - torch.from_numpy(mean).view(1, 3, 1, 1)) / torch.from_numpy(std).view(1, 3, 1, 1)


def unnormalize(img, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD):
    """
    Undo the normalization of preprocess: pixels in [0, 1] units (not clipped).

    Inputs:
    - img: Tensor of shape (N, 3, H, W) or (3, H, W)

    Returns:
    - A tensor of the same shape: img * std + mean
    """
    mean, std = _stats(mean, std)
    shape = (1, 3, 1, 1) if img.ndim == 4 else (3, 1, 1)
    return img * torch.from_numpy(std).view(shape).to(img) + torch.from_numpy(mean).view(shape).to(img)


def deprocess(img, should_rescale=True, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD):
    """
    Turn a network input back into a displayable image.

    Inputs:
    - img: Tensor of shape (1, 3, H, W) or (3, H, W), normalized as by preprocess
    - should_rescale: Stretch the pixel values to fill [0, 1] (for images that optimization
      pushed out of range); otherwise clip them to [0, 1]
    - mean, std: The statistics preprocess used

    Returns:
    - A PIL RGB image of size H x W
    """
    img = img.detach().cpu().float()
    if img.ndim == 4:
        if img.shape[0] != 1:
            raise ValueError(f"img must be a single image (1, 3, H, W), got {tuple(img.shape)}")
        img = img[0]
    if img.ndim != 3 or img.shape[0] != 3:
        raise ValueError(f"img must have shape (1, 3, H, W) or (3, H, W), got {tuple(img.shape)}")
    x = unnormalize(img, mean, std)
    x = rescale(x) if should_rescale else x.clamp(0, 1)
    return T.ToPILImage()(x)


def rescale(x):
    """Map the values of x linearly onto [0, 1] (a constant x becomes 0)."""
    low, high = x.min(), x.max()
    return (x - low) / max(float(high - low), 1e-12)


def blur_image(X, sigma=1):
    """
    Blur a batch of images in place with a Gaussian filter over the two spatial axes.

    Inputs:
    - X: Tensor of shape (N, C, H, W)
    - sigma: Standard deviation of the Gaussian, in pixels

    Returns:
    - X, blurred
    """
    positive_number("sigma", sigma)
    X_np = X.detach().cpu().numpy().copy()
    X_np = gaussian_filter1d(X_np, sigma, axis=2)
    X_np = gaussian_filter1d(X_np, sigma, axis=3)
    X.copy_(torch.from_numpy(X_np).to(X))
    return X


def jitter(X, ox, oy):
    """
    Shift a batch of images circularly (what leaves on one side comes back on the other).

    Inputs:
    - X: Tensor of shape (N, C, H, W)
    - ox: Pixels to shift to the right (negative: to the left)
    - oy: Pixels to shift down (negative: up)

    Returns:
    - A new tensor of shape (N, C, H, W); jitter(jitter(X, ox, oy), -ox, -oy) equals X
    """
    return torch.roll(X, shifts=(int(oy), int(ox)), dims=(2, 3))


def load_image(filename, size=None):
    """
    Load an image file as RGB.

    Inputs:
    - filename: Path of a JPEG/PNG file
    - size: Resize so that the shorter side has this many pixels (bilinear); None keeps the size

    Returns:
    - A uint8 array of shape (H, W, 3)
    """
    path = Path(filename)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    with Image.open(path) as img:
        img = img.convert("RGB")
        if size is not None:
            img = T.Resize(positive_int("size", size))(img)
        return np.asarray(img).copy()


def image_from_url(url, timeout=5.0):
    """
    Download an image.

    Inputs:
    - url: An http(s) URL of a JPEG/PNG image
    - timeout: Seconds to wait for the server before giving up

    Returns:
    - A uint8 array of shape (H, W, 3); raises ImageDownloadError with the reason when the
      image cannot be fetched (offline, refused, not found) or is not an image
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except urllib.error.HTTPError as error:
        raise ImageDownloadError(f"could not download {url}: the server answered {error.code} "
                                 f"({error.reason})") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ImageDownloadError(f"could not download {url} ({reason}): this machine seems to be offline or the "
                                 f"server is unreachable; images from URLs need an internet connection") from error
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB")).copy()
    except OSError as error:
        raise ImageDownloadError(f"{url} did not return an image ({len(data)} bytes: {error})") from error
