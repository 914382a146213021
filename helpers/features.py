"""Hand-made image features: a histogram of oriented gradients (HOG) and a hue histogram.

    extract_features(imgs, feature_fns)   -> (N, F): the features of every image, side by side
    hog_feature(im)                       -> (n_cells_y * n_cells_x * 9,) HOG of one image
    color_histogram_hsv(im, nbin=10)      -> (nbin,) histogram of the hue channel
    hog_picture(feat, n_cells)            -> an image of the HOG, one stroke per orientation bin

HOG follows CS231n's simplified version (no blocks, no block normalization): forward-difference
gradients, 9 orientation bins over [0, 180) degrees, and the gradient magnitude averaged over
8x8-pixel cells. CS231n takes the cell means by running scipy.ndimage.uniform_filter over the
whole image and reading it at each cell's centre; one np.bincount over (cell, bin) slots gives
the same numbers without filtering every pixel (tests/test_features.py compares the two).
Two of CS231n's slips are fixed: CS231n drops every gradient that points left (its angle lands
outside [0, 180) and no bin takes it), and its grayscale weights use 0.144 for blue, not 0.114.
"""

import numpy as np
from tqdm import tqdm

from helpers._checks import check_ndim, check_shape, positive_int

HOG_ORIENTATIONS = 9
HOG_CELL = (8, 8)  # pixels per cell (rows, columns)
GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma
PROGRESS_THRESHOLD = 1000  # show a progress bar from this many images on


def extract_features(imgs, feature_fns, verbose=False):
    """
    Given pixel data for images and several feature functions that can operate on
    single images, apply all feature functions to all images, concatenating the
    feature vectors for each image and storing the features for all images in
    a single matrix.

    Inputs:
    - imgs: N x H x W x C array of pixel data for N images.
    - feature_fns: List of k feature functions. The ith feature function should
      take as input an H x W x D array and return a (one-dimensional) array of
      length F_i.
    - verbose: Boolean; if true, show a progress bar even for few images
      (from PROGRESS_THRESHOLD images on it is always shown).

    Returns:
    An array of shape (N, F_1 + ... + F_k) where each row is the concatenation
    of all features for a single image.
    """
    imgs = np.asarray(imgs)
    check_ndim("imgs", imgs, 4, "(N, H, W, C)")
    if imgs.shape[0] == 0:
        raise ValueError(f"imgs must hold at least one image, got shape {imgs.shape}")
    if callable(feature_fns) or len(feature_fns) == 0 or not all(callable(fn) for fn in feature_fns):
        raise ValueError(f"feature_fns must be a non-empty list of functions, got {feature_fns!r}")
    num_images = imgs.shape[0]

    # The first image tells how long each feature vector is.
    first = []
    for fn in feature_fns:
        feats = np.asarray(fn(imgs[0]))
        if feats.ndim != 1:
            raise ValueError(f"feature function {getattr(fn, '__name__', fn)} must return a 1-D array, "
                             f"got shape {feats.shape}")
        first.append(feats)
    dims = [f.size for f in first]
    bounds = np.concatenate([[0], np.cumsum(dims)])
    imgs_features = np.zeros((num_images, bounds[-1]))
    imgs_features[0] = np.concatenate(first)

    show = verbose or num_images >= PROGRESS_THRESHOLD
    for i in tqdm(range(1, num_images), desc="extracting features", unit="img", disable=not show,
                  initial=1, total=num_images, mininterval=1.0):
        for fn, start, stop in zip(feature_fns, bounds[:-1], bounds[1:], strict=True):
            imgs_features[i, start:stop] = fn(imgs[i])
    return imgs_features


def rgb2gray(rgb):
    """
    Convert RGB image to grayscale.

    Inputs:
    - rgb: Array of shape (H, W, 3) (further channels, e.g. alpha, are ignored)

    Returns:
    - gray: Array of shape (H, W), the BT.601 luma 0.299 R + 0.587 G + 0.114 B
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"rgb must have shape (H, W, 3), got {rgb.shape}")
    return rgb[..., :3] @ GRAY_WEIGHTS


def hog_feature(im):
    """
    Compute a Histogram of Oriented Gradients (HOG) feature for an image.

    Modified from skimage.feature.hog, following CS231n: no blocks and no block
    normalization. Each pixel's gradient magnitude goes to one of 9 bins of its edge
    orientation (the gradient direction turned by 90 degrees, folded into [0, 180), so
    bin 0 holds horizontal edges and bin 4, around 90 degrees, vertical ones), and every
    8x8 cell reports the mean magnitude per bin.

    Reference:
      Histograms of Oriented Gradients for Human Detection
      Navneet Dalal and Bill Triggs, CVPR 2005

    Inputs:
    - im: An image of shape (H, W) (grayscale) or (H, W, 3) (RGB), H and W at least 8

    Returns:
    - feat: Array of shape (n_cells_y * n_cells_x * 9,), n_cells_y = H // 8 and
      n_cells_x = W // 8, laid out as (cell row, cell column, orientation).
      A row of pixels beyond the last full cell is ignored.
    """
    im = np.asarray(im)
    if im.ndim == 3:
        image = rgb2gray(im)
    elif im.ndim == 2:
        image = im.astype(np.float64, copy=False)
    else:
        raise ValueError(f"im must have shape (H, W) or (H, W, 3), got {im.shape}")
    sy, sx = image.shape
    cy, cx = HOG_CELL
    if sy < cy or sx < cx:
        raise ValueError(f"im must be at least {cy}x{cx} pixels (one HOG cell), got {sy}x{sx}")
    n_cells_y, n_cells_x = sy // cy, sx // cx

    gx = np.zeros(image.shape)
    gy = np.zeros(image.shape)
    gx[:, :-1] = np.diff(image, n=1, axis=1)
    gy[:-1, :] = np.diff(image, n=1, axis=0)
    grad_mag = np.sqrt(gx**2 + gy**2)
    # Edge orientation in [0, 180): a gradient and its opposite describe the same edge.
    grad_ori = np.mod(np.degrees(np.arctan2(gy, gx)) + 90.0, 180.0)
    bins = np.minimum((grad_ori * (HOG_ORIENTATIONS / 180.0)).astype(np.intp), HOG_ORIENTATIONS - 1)

    # All orientations and cells at once: every pixel adds its magnitude to the
    # (cell row, cell column, bin) slot it falls in. This equals CS231n's uniform_filter
    # (an 8x8 moving mean, read at each cell's centre) without filtering every pixel.
    rows = np.arange(n_cells_y * cy) // cy
    cols = np.arange(n_cells_x * cx) // cx
    slot = (rows[:, None] * n_cells_x + cols[None, :]) * HOG_ORIENTATIONS + bins[:n_cells_y * cy, :n_cells_x * cx]
    sums = np.bincount(slot.ravel(), weights=grad_mag[:n_cells_y * cy, :n_cells_x * cx].ravel(),
                       minlength=n_cells_y * n_cells_x * HOG_ORIENTATIONS)
    return sums / (cy * cx)


def hog_picture(feat, n_cells, cell_pixels=16):
    """
    Draw a HOG feature as an image: in each cell, one line through the centre per
    orientation bin, along that bin's edge orientation, as bright as the bin's value.

    Inputs:
    - feat: HOG feature of shape (n_cells_y * n_cells_x * 9,), as returned by hog_feature
    - n_cells: Tuple (n_cells_y, n_cells_x), e.g. (4, 4) for a 32x32 image
    - cell_pixels: Side of one drawn cell, in pixels

    Returns:
    - picture: Array of shape (n_cells_y * cell_pixels, n_cells_x * cell_pixels), values >= 0
    """
    n_cells_y, n_cells_x = n_cells
    feat = np.asarray(feat, dtype=np.float64)
    check_shape("feat", feat, (n_cells_y * n_cells_x * HOG_ORIENTATIONS,),
                f"for {n_cells_y}x{n_cells_x} cells of {HOG_ORIENTATIONS} bins")
    cells = feat.reshape(n_cells_y, n_cells_x, HOG_ORIENTATIONS)  # (cell row, cell column, bin)
    # One stroke per bin: the pixels of a cell within half a pixel of the line through its
    # centre at the bin's middle angle (x to the right, y downwards, as in the image).
    centre = (cell_pixels - 1) / 2.0
    yy, xx = np.mgrid[:cell_pixels, :cell_pixels] - centre
    angles = np.radians((np.arange(HOG_ORIENTATIONS) + 0.5) * 180.0 / HOG_ORIENTATIONS)
    off_line = np.abs(xx[None] * np.sin(angles)[:, None, None] - yy[None] * np.cos(angles)[:, None, None])
    strokes = (off_line <= 0.5 + 1e-9).astype(np.float64)  # (9, cell_pixels, cell_pixels); 1e-9: rounding
    picture = np.einsum("yxb,bij->yixj", cells, strokes)  # (n_cells_y, cell_pixels, n_cells_x, cell_pixels)
    return picture.reshape(n_cells_y * cell_pixels, n_cells_x * cell_pixels)  # the cells side by side, one image


def color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    """
    Compute color histogram for an image using hue.

    Inputs:
    - im: H x W x C array of pixel data for an RGB image, values in [0, xmax].
    - nbin: Number of histogram bins. (default: 10)
    - xmin: Minimum pixel value (default: 0)
    - xmax: Maximum pixel value (default: 255)
    - normalized: Whether to normalize the histogram (default: True)

    Returns:
      1D vector of length nbin giving the color histogram over the hue of the
      input image: the fraction of pixels in each hue bin when normalized (summing to 1),
      else the pixel counts. Hue is scaled to [0, xmax], and the bins split [xmin, xmax]
      evenly.
    """
    im = np.asarray(im)
    if im.ndim != 3 or im.shape[2] != 3:
        raise ValueError(f"im must have shape (H, W, 3), got {im.shape}")
    nbin = positive_int("nbin", nbin)
    if not xmin < xmax:
        raise ValueError(f"xmin must be below xmax, got xmin={xmin}, xmax={xmax}")
    bins = np.linspace(xmin, xmax, nbin + 1)
    hue = (rgb2hue(im / xmax) * xmax).ravel()
    # np.histogram(hue, bins) without its sorting: bin i holds bins[i] <= hue < bins[i + 1],
    # the last bin also its right edge, and values outside [xmin, xmax] are not counted.
    index = np.searchsorted(bins, hue, side="right") - 1
    index[hue == bins[-1]] = nbin - 1
    inside = (index >= 0) & (index < nbin)
    imhist = np.bincount(index[inside], minlength=nbin)
    if not normalized:
        return imhist
    total = imhist.sum()
    return imhist / total if total else imhist.astype(np.float64)


def rgb2hue(rgb):
    """
    Hue of the HSV colour space, the same numbers as matplotlib.colors.rgb_to_hsv(rgb)[..., 0]
    (the same arithmetic, without computing saturation and value, about 10x faster).

    Inputs:
    - rgb: Array of shape (..., 3) with values in [0, 1]

    Returns:
    - hue: Array of shape rgb.shape[:-1] with values in [0, 1); 0 for grays
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim < 1 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb must have shape (..., 3), got {rgb.shape}")
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # Pairwise maximum/minimum: much faster than a reduction over a length-3 last axis.
    arr_max = np.maximum(np.maximum(r, g), b)
    delta = arr_max - np.minimum(np.minimum(r, g), b)
    colored = delta > 0
    safe_delta = np.where(colored, delta, 1.0)
    # matplotlib assigns red, then green, then blue, so blue wins ties, then green.
    hue = np.where(b == arr_max, 4.0 + (r - g) / safe_delta,
                   np.where(g == arr_max, 2.0 + (b - r) / safe_delta, (g - b) / safe_delta))
    hue = np.where(colored, hue, 0.0)
    return (hue / 6.0) % 1.0
