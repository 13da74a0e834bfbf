//! Host images: 8-bit clean images as loaded, f32 images and batches as fed to and read back from
//! a model. Everything is planar (CHW / NCHW) so a batch uploads to a GPU tensor as is.

use crate::gpu::{Gpu, Tensor};

/// Channel layout a model works in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Channels {
    /// One luma channel (colour inputs are converted like PIL's `convert('L')`).
    Grey,
    /// RGB (grey inputs are replicated into the three channels).
    Color,
}

impl Channels {
    pub fn count(self) -> usize {
        match self {
            Channels::Grey => 1,
            Channels::Color => 3,
        }
    }

    pub fn from_count(c: usize) -> Option<Channels> {
        match c {
            1 => Some(Channels::Grey),
            3 => Some(Channels::Color),
            _ => None,
        }
    }
}

/// ITU-R 601 luma exactly as Pillow >= 7.0 computes `convert('L')`: 16-bit fixed point with
/// rounding, `(19595 R + 38470 G + 7471 B + 0x8000) >> 16`. (Pillow < 7 truncated
/// `(299 R + 587 G + 114 B) / 1000`, which is up to 1 lower; HiNAS' own Pillow version is unknown.)
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 19595 + g as u32 * 38470 + b as u32 * 7471 + 0x8000) >> 16) as u8
}

/// An 8-bit image, planar: `data[(c * height + y) * width + x]`, with 1 or 3 channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

impl Image {
    pub fn new(width: usize, height: usize, channels: usize, data: Vec<u8>) -> Image {
        assert!(channels == 1 || channels == 3, "{channels} channels");
        assert_eq!(data.len(), width * height * channels, "image data size");
        Image {
            width,
            height,
            channels,
            data,
        }
    }

    /// Grey (with or without alpha) stays one channel, anything else becomes RGB; alpha is
    /// dropped and 16-bit samples are reduced to 8 bits by the `image` crate.
    pub fn from_dynamic(img: &image::DynamicImage) -> Image {
        use image::DynamicImage as D;
        let grey = matches!(
            img,
            D::ImageLuma8(_) | D::ImageLumaA8(_) | D::ImageLuma16(_) | D::ImageLumaA16(_)
        );
        if grey {
            let g = img.to_luma8();
            Image::new(g.width() as usize, g.height() as usize, 1, g.into_raw())
        } else {
            let rgb = img.to_rgb8();
            let (w, h) = (rgb.width() as usize, rgb.height() as usize);
            let raw = rgb.as_raw();
            let mut data = vec![0u8; w * h * 3];
            for (i, px) in raw.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    data[c * w * h + i] = px[c];
                }
            }
            Image::new(w, h, 3, data)
        }
    }

    /// Decodes an encoded image (PNG, JPEG, BMP, TIFF).
    pub fn decode(bytes: &[u8]) -> anyhow::Result<Image> {
        let img = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()?
            .decode()?;
        Ok(Image::from_dynamic(&img))
    }

    /// Why an encoded image decodes into a damaged picture although the decoder succeeds: a JPEG
    /// cut off mid-scan decodes with the missing part grey and no error. Inside a scan a 0xFF
    /// byte is always followed by 0x00 or a restart marker, so the end-of-image marker after
    /// the last start-of-scan is what a complete file has.
    pub fn damage(bytes: &[u8]) -> Option<&'static str> {
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return None;
        }
        let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA])?;
        let complete = bytes[last_scan..].windows(2).any(|w| w == [0xFF, 0xD9]);
        (!complete).then_some("JPEG data ends before its end-of-image marker (truncated file?)")
    }

    /// Encodes as an 8-bit PNG (grey or RGB).
    pub fn to_png(&self) -> anyhow::Result<Vec<u8>> {
        use image::ImageEncoder;
        let mut out = Vec::new();
        let enc = image::codecs::png::PngEncoder::new(&mut out);
        let (raw, ty) = if self.channels == 1 {
            (self.data.clone(), image::ExtendedColorType::L8)
        } else {
            (self.interleaved(), image::ExtendedColorType::Rgb8)
        };
        enc.write_image(&raw, self.width as u32, self.height as u32, ty)?;
        Ok(out)
    }

    /// HWC byte order (RGBRGB...).
    pub fn interleaved(&self) -> Vec<u8> {
        let n = self.width * self.height;
        let mut out = vec![0u8; self.data.len()];
        for i in 0..n {
            for c in 0..self.channels {
                out[i * self.channels + c] = self.data[c * n + i];
            }
        }
        out
    }

    pub fn plane(&self, c: usize) -> &[u8] {
        let n = self.width * self.height;
        &self.data[c * n..(c + 1) * n]
    }

    /// Luma for [`Channels::Grey`], channel replication for [`Channels::Color`].
    pub fn to_channels(&self, ch: Channels) -> Image {
        match (self.channels, ch) {
            (1, Channels::Grey) | (3, Channels::Color) => self.clone(),
            (3, Channels::Grey) => {
                let (r, g, b) = (self.plane(0), self.plane(1), self.plane(2));
                let data = (0..r.len()).map(|i| luma(r[i], g[i], b[i])).collect();
                Image::new(self.width, self.height, 1, data)
            }
            _ => Image::new(self.width, self.height, 3, self.data.repeat(3)),
        }
    }

    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Image {
        assert!(
            x + w <= self.width && y + h <= self.height,
            "crop out of bounds"
        );
        let mut data = Vec::with_capacity(w * h * self.channels);
        for c in 0..self.channels {
            let p = self.plane(c);
            for row in y..y + h {
                data.extend_from_slice(&p[row * self.width + x..row * self.width + x + w]);
            }
        }
        Image::new(w, h, self.channels, data)
    }

    /// Values / 255, the model's clean-target scale.
    pub fn to_float(&self) -> FloatImage {
        FloatImage {
            width: self.width,
            height: self.height,
            channels: self.channels,
            data: self.data.iter().map(|&v| v as f32 / 255.0).collect(),
        }
    }
}

/// An image with its name (the path relative to the folder it was loaded from).
#[derive(Clone, Debug)]
pub struct NamedImage {
    pub name: String,
    pub image: Image,
}

/// An f32 image, planar CHW, nominally in [0, 1] (noisy images and model outputs leave it).
#[derive(Clone, Debug, PartialEq)]
pub struct FloatImage {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<f32>,
}

impl FloatImage {
    pub fn new(width: usize, height: usize, channels: usize, data: Vec<f32>) -> FloatImage {
        assert_eq!(data.len(), width * height * channels, "image data size");
        FloatImage {
            width,
            height,
            channels,
            data,
        }
    }

    /// Clipped to [0, 1] and rounded to 8 bits, e.g. to save a result.
    pub fn to_u8(&self) -> Image {
        let data = self
            .data
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        Image::new(self.width, self.height, self.channels, data)
    }
}

/// A host-side NCHW f32 batch.
#[derive(Clone, Debug, PartialEq)]
pub struct HostBatch {
    pub shape: [usize; 4],
    pub data: Vec<f32>,
}

impl HostBatch {
    pub fn new(shape: [usize; 4], data: Vec<f32>) -> HostBatch {
        assert_eq!(
            data.len(),
            shape.iter().product::<usize>(),
            "batch data size"
        );
        HostBatch { shape, data }
    }

    pub fn len(&self) -> usize {
        self.shape[0]
    }

    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// The `i`-th item as an image.
    pub fn item(&self, i: usize) -> FloatImage {
        let [_, c, h, w] = self.shape;
        let n = c * h * w;
        FloatImage::new(w, h, c, self.data[i * n..(i + 1) * n].to_vec())
    }

    pub fn upload(&self, gpu: &Gpu) -> Tensor {
        Tensor::from_slice(gpu, &self.shape, &self.data)
    }

    /// A batch of one image.
    pub fn from_image(img: &FloatImage) -> HostBatch {
        HostBatch::new([1, img.channels, img.height, img.width], img.data.clone())
    }
}
