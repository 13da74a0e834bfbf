//! Image sets: a folder of PNG/JPEG/BMP/TIFF files (recursive, sorted by path), or the built-in
//! set embedded in the binary.

use super::builtin;
use super::image::{Channels, Image, NamedImage};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp", "tif", "tiff"];

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Every image is converted to this layout (luma or channel replication).
    pub channels: Channels,
    /// Refuse the whole set on the first unreadable file instead of skipping it.
    pub strict: bool,
    /// Images narrower or lower than this are an error (the patch size when sampling patches).
    pub min_size: usize,
    /// What needs `min_size`, for the message ("patch size", "SSIM window").
    pub min_size_for: &'static str,
}

impl LoadOptions {
    pub fn new(channels: Channels) -> LoadOptions {
        LoadOptions {
            channels,
            strict: false,
            min_size: 1,
            min_size_for: "patch size",
        }
    }

    pub fn strict(mut self, strict: bool) -> LoadOptions {
        self.strict = strict;
        self
    }

    pub fn min_size(mut self, min_size: usize) -> LoadOptions {
        self.min_size = min_size;
        self
    }

    /// Images smaller than `min_size` are refused, naming `needed_for` as the reason.
    pub fn min_size_for(mut self, min_size: usize, needed_for: &'static str) -> LoadOptions {
        self.min_size = min_size;
        self.min_size_for = needed_for;
        self
    }
}

/// The images of a folder plus the files that were skipped, each with the reason.
#[derive(Debug)]
pub struct LoadedSet {
    pub images: Vec<NamedImage>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// Loads every image file under `path` (or the single file `path`), sorted by path. Unreadable
/// files are skipped with a warning on stderr (or refused when `strict`); a missing path, a
/// folder without images and an image below `min_size` are errors.
pub fn load_folder(path: &Path, opts: &LoadOptions) -> Result<LoadedSet> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot read image set", path.display()))?;
    let files = if meta.is_dir() {
        let mut files = Vec::new();
        collect(path, &mut files)?;
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        bail!(
            "{}: no image files ({}) found",
            path.display(),
            EXTENSIONS.join("/")
        );
    }
    let mut images = Vec::new();
    let mut skipped = Vec::new();
    for f in &files {
        let image = match read_image(f, opts.strict) {
            Ok(img) => img,
            Err(e) => {
                let reason = format!("{e:#}");
                if opts.strict {
                    bail!("{}: unreadable image: {reason}", f.display());
                }
                eprintln!("warning: skipping {}: {reason}", f.display());
                skipped.push((f.clone(), reason));
                continue;
            }
        };
        check_size(
            &image,
            opts.min_size,
            &f.display().to_string(),
            opts.min_size_for,
        )?;
        let name = if meta.is_dir() {
            f.strip_prefix(path).unwrap_or(f)
        } else {
            f.file_name().map(Path::new).unwrap_or(f)
        };
        images.push(NamedImage {
            name: name.to_string_lossy().into_owned(),
            image: image.to_channels(opts.channels),
        });
    }
    if images.is_empty() {
        bail!(
            "{}: none of its {} image files could be read (first: {}: {})",
            path.display(),
            files.len(),
            skipped[0].0.display(),
            skipped[0].1
        );
    }
    Ok(LoadedSet { images, skipped })
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))?;
    for e in entries {
        let p = e.with_context(|| format!("{}", dir.display()))?.path();
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| {
            EXTENSIONS
                .iter()
                .any(|e| x.to_string_lossy().eq_ignore_ascii_case(e))
        }) {
            out.push(p);
        }
    }
    Ok(())
}

fn read_image(path: &Path, strict: bool) -> Result<Image> {
    let bytes = std::fs::read(path)?;
    let img = Image::decode(&bytes)?;
    if let Some(why) = Image::damage(&bytes) {
        if strict {
            bail!("{why}");
        }
        eprintln!("warning: {}: {why}; using it as decoded", path.display());
    }
    Ok(img)
}

fn check_size(img: &Image, min: usize, what: &str, needed_for: &str) -> Result<()> {
    if img.width < min || img.height < min {
        bail!(
            "{what}: {}x{} is smaller than the {min}x{min} {needed_for}",
            img.width,
            img.height
        );
    }
    Ok(())
}

/// Where an image set comes from. Parses from `builtin:train`, `builtin:test` or a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    BuiltinTrain,
    BuiltinTest,
    Folder(PathBuf),
}

impl std::str::FromStr for Source {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Source, Self::Err> {
        Ok(match s {
            "builtin:train" => Source::BuiltinTrain,
            "builtin:test" => Source::BuiltinTest,
            p => Source::Folder(PathBuf::from(p)),
        })
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::BuiltinTrain => write!(f, "builtin:train"),
            Source::BuiltinTest => write!(f, "builtin:test"),
            Source::Folder(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Source {
    pub fn load(&self, opts: &LoadOptions) -> Result<Vec<NamedImage>> {
        let images = match self {
            Source::BuiltinTrain => builtin::builtin_train(opts.channels),
            Source::BuiltinTest => builtin::builtin_test(opts.channels),
            Source::Folder(p) => return Ok(load_folder(p, opts)?.images),
        };
        for im in &images {
            check_size(
                &im.image,
                opts.min_size,
                &format!("{self}/{}", im.name),
                opts.min_size_for,
            )?;
        }
        Ok(images)
    }
}

/// HiNAS' search split of a name-sorted list (data/build_dataset.py): the last
/// `floor(val_portion * n)` items validate, of the rest the first `floor(portion * rest)` train the
/// weights and the others the architecture. Returns (weights, arch, val) index ranges. Unlike
/// HiNAS, at least one validation item is kept when `val_portion > 0` and `n >= 3` (2% of a tiny
/// set would be none).
pub fn hinas_split(
    n: usize,
    val_portion: f64,
    portion: f64,
) -> (
    std::ops::Range<usize>,
    std::ops::Range<usize>,
    std::ops::Range<usize>,
) {
    let mut val = (val_portion * n as f64).floor() as usize;
    if val == 0 && val_portion > 0.0 && n >= 3 {
        val = 1;
    }
    let train = n - val;
    let w = (portion * train as f64).floor() as usize;
    (0..w, w..train, train..n)
}
