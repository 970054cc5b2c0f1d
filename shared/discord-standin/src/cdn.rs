//! Generated pictures for the CDN paths, so the offline demo shows real
//! avatars and icons: a 64×64 PNG in a colour derived from the hash.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const SIZE: u32 = 64;

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &d in data {
        a = (a + u32::from(d)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut c = kind.to_vec();
    c.extend_from_slice(data);
    out.extend_from_slice(&c);
    out.extend_from_slice(&crc32(&c).to_be_bytes());
}

/// A PNG: a disc of `fg` on `bg`, so it reads as an avatar or icon.
pub(crate) fn png(bg: [u8; 3], fg: [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((SIZE * 3 + 1) * SIZE) as usize);
    let c = SIZE as i32 / 2;
    for y in 0..SIZE as i32 {
        raw.push(0); // filter: none
        for x in 0..SIZE as i32 {
            let d = (x - c) * (x - c) + (y - c) * (y - c);
            raw.extend_from_slice(if d < (c * c) / 3 { &fg } else { &bg });
        }
    }
    // zlib stream of stored (uncompressed) deflate blocks.
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    z.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&SIZE.to_be_bytes());
    ihdr.extend_from_slice(&SIZE.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn colours(seed: &str) -> ([u8; 3], [u8; 3]) {
    let h = seed.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let bg = [
        (h >> 16) as u8 | 0x40,
        (h >> 8) as u8 | 0x40,
        h as u8 | 0x40,
    ];
    let fg = [255 - bg[0] / 2, 255 - bg[1] / 2, 255 - bg[2] / 2];
    (bg, fg)
}

fn image(seed: &str, file: &str) -> Response {
    let Some((_, ext)) = file.rsplit_once('.') else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Browsers sniff image bytes, so a PNG body serves .gif/.webp requests too.
    let mime = match ext {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "jpg" | "jpeg" => "image/jpeg",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let (bg, fg) = colours(seed);
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        png(bg, fg),
    )
        .into_response()
}

pub(crate) async fn icon(Path((id, file)): Path<(String, String)>) -> Response {
    image(&format!("{id}/{file}"), &file)
}

pub(crate) async fn avatar(Path((id, file)): Path<(String, String)>) -> Response {
    image(&format!("{id}/{file}"), &file)
}

pub(crate) async fn default_avatar(Path(file): Path<String>) -> Response {
    image(&file, &file)
}

#[cfg(test)]
mod tests {
    #[test]
    fn png_is_well_formed() {
        let p = super::png([1, 2, 3], [4, 5, 6]);
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&p[p.len() - 8..p.len() - 4], b"IEND");
        assert_eq!(super::crc32(b"IEND"), 0xae42_6082);
    }
}
