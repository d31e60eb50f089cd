//! A minimal PNG encoder: 8-bit RGB, no interlacing, every row unfiltered,
//! the image data compressed with zlib (miniz_oxide). Enough for the plots
//! the project draws; no PNG crate is among its dependencies.
//!
//! The layout follows the PNG specification (ISO/IEC 15948): the signature,
//! then chunks of length, type, data and a CRC-32 of type and data: IHDR
//! (size and pixel format), IDAT (the compressed rows), IEND.

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
/// Colour type 2: three samples (red, green, blue) per pixel.
const COLOUR_TYPE_RGB: u8 = 2;
/// Filter type 0 ("None") before each row.
const NO_FILTER: u8 = 0;

/// Encodes `width` by `height` pixels, given row by row as red, green,
/// blue bytes (`pixels.len()` must be `3 * width * height`).
pub fn encode_rgb(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    let row_bytes = 3 * width as usize;
    debug_assert_eq!(pixels.len(), row_bytes * height as usize);
    let mut filtered = Vec::with_capacity((row_bytes + 1) * height as usize);
    for row in pixels.chunks(row_bytes.max(1)) {
        filtered.push(NO_FILTER);
        filtered.extend_from_slice(row);
    }
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, RGB, compression 0 (deflate), filter method 0, no
    // interlacing.
    header.extend_from_slice(&[8, COLOUR_TYPE_RGB, 0, 0, 0]);
    let mut png = SIGNATURE.to_vec();
    write_chunk(&mut png, b"IHDR", &header);
    write_chunk(
        &mut png,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&filtered, 9),
    );
    write_chunk(&mut png, b"IEND", &[]);
    png
}

fn write_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).expect("a plot's chunk is far below 4 GiB");
    png.extend_from_slice(&length.to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    png.extend_from_slice(&crc.finalize().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chunks of a PNG file: (type, data), checking each CRC.
    fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
        assert_eq!(&png[..8], &SIGNATURE);
        let mut rest = &png[8..];
        let mut chunks = Vec::new();
        while !rest.is_empty() {
            let length = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = rest[4..8].try_into().unwrap();
            let data = rest[8..8 + length].to_vec();
            let crc = u32::from_be_bytes(rest[8 + length..12 + length].try_into().unwrap());
            assert_eq!(crc, crc32fast::hash(&rest[4..8 + length]));
            chunks.push((kind, data));
            rest = &rest[12 + length..];
        }
        chunks
    }

    #[test]
    fn a_two_by_two_image_has_header_rows_and_end() {
        let pixels = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
        let png = encode_rgb(2, 2, &pixels);
        let chunks = chunks(&png);
        let kinds: Vec<&[u8; 4]> = chunks.iter().map(|(kind, _)| kind).collect();
        assert_eq!(kinds, vec![b"IHDR", b"IDAT", b"IEND"]);
        assert_eq!(chunks[0].1, vec![0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
        let rows = miniz_oxide::inflate::decompress_to_vec_zlib(&chunks[1].1).unwrap();
        assert_eq!(rows, vec![0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 9, 9, 9]);
        // The IEND chunk's CRC is the same in every PNG file.
        assert_eq!(&png[png.len() - 4..], &[0xAE, 0x42, 0x60, 0x82]);
    }
}
