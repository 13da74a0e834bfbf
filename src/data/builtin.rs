//! The built-in image set (data/builtin/, see its ATTRIBUTION), embedded so hinas works from any
//! directory. train/ and test/ come from different source photos.

use super::image::{Channels, Image, NamedImage};

macro_rules! embed {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../../data/builtin/", $dir, "/", $name)) as &[u8])),*]
    };
}

/// 16 crops (192x192) of 6 photos: flower (libjxl), 3 wesaturate photos, grass, gravel.
pub const TRAIN: &[(&str, &[u8])] = embed!("train":
    "flower_1.png",
    "flower_2.png",
    "flower_3.png",
    "flower_4.png",
    "flower_5.png",
    "flower_6.png",
    "grass_1.png",
    "grass_2.png",
    "gravel_1.png",
    "gravel_2.png",
    "wesat_1a.png",
    "wesat_1b.png",
    "wesat_2a.png",
    "wesat_2b.png",
    "wesat_3a.png",
    "wesat_3b.png",
);
/// "tiny12": Set12-style 256x256 centre crops (colour where the source is colour).
pub const TEST: &[(&str, &[u8])] = embed!("test":
    "ascent.png",
    "astronaut.png",
    "barbara.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "kodim23.png",
    "monarch.png",
    "sail.png",
    "tulips.png",
);

fn decode(files: &[(&str, &[u8])], channels: Channels) -> Vec<NamedImage> {
    files
        .iter()
        .map(|(name, bytes)| NamedImage {
            name: name.to_string(),
            image: Image::decode(bytes)
                .unwrap_or_else(|e| panic!("embedded image {name} is corrupt: {e}"))
                .to_channels(channels),
        })
        .collect()
}

/// The built-in training images, sorted by name.
pub fn builtin_train(channels: Channels) -> Vec<NamedImage> {
    decode(TRAIN, channels)
}

/// The built-in test images ("tiny12"), sorted by name.
pub fn builtin_test(channels: Channels) -> Vec<NamedImage> {
    decode(TEST, channels)
}
