//! Tiny image encoders for the CDN stand-in, so the offline demo shows real
//! pictures without an image crate: PNG with stored (uncompressed) deflate
//! blocks, and GIF with an LZW stream that never grows past 3-bit codes.
//! Both draw a disc on a background, which reads as an avatar or an icon.

/// Background, disc, and a second disc colour for the animated frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Palette {
    pub bg: [u8; 3],
    pub fg: [u8; 3],
    pub alt: [u8; 3],
}

/// A palette derived from any seed (a hash, an id), stable across runs.
pub(crate) fn palette(seed: &str) -> Palette {
    let h = seed.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let bg = [
        (h >> 16) as u8 | 0x40,
        (h >> 8) as u8 | 0x40,
        h as u8 | 0x40,
    ];
    let fg = [255 - bg[0] / 2, 255 - bg[1] / 2, 255 - bg[2] / 2];
    let alt = [bg[2], bg[0], bg[1]];
    Palette { bg, fg, alt }
}

/// Whether (x, y) is inside the disc of an image `size` wide; `shrink`
/// makes a smaller disc (the animation's second frame).
fn in_disc(x: u32, y: u32, size: u32, shrink: bool) -> bool {
    let c = i64::from(size) / 2;
    let (dx, dy) = (i64::from(x) - c, i64::from(y) - c);
    let r2 = if shrink { c * c / 6 } else { c * c / 3 };
    dx * dx + dy * dy < r2
}

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
        a = (a + u32::from(d)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // Chunks here are at most a few hundred KiB: the length fits a u32.
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// An 8-bit RGB PNG, `size`×`size`.
pub(crate) fn png(p: Palette, size: u32) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((size * 3 + 1) * size) as usize);
    for y in 0..size {
        raw.push(0); // filter type: none
        for x in 0..size {
            raw.extend_from_slice(if in_disc(x, y, size, false) {
                &p.fg
            } else {
                &p.bg
            });
        }
    }
    // A zlib stream of stored deflate blocks: valid, just not compressed.
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
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &z);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// LSB-first bit packing, as GIF's LZW wants it.
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn push(&mut self, code: u32, width: u32) {
        self.acc |= code << self.n;
        self.n += width;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// LZW data for 2-bit colour indices without any compression: a clear code
/// after every two pixels keeps the table from ever reaching 8 entries, so
/// every code stays 3 bits wide and no decoder can disagree about widths.
fn gif_lzw(indices: &[u8]) -> Vec<u8> {
    const CLEAR: u32 = 4;
    const END: u32 = 5;
    let mut bits = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    for pair in indices.chunks(2) {
        bits.push(CLEAR, 3);
        for &i in pair {
            bits.push(u32::from(i & 3), 3);
        }
    }
    bits.push(END, 3);
    bits.finish()
}

/// A GIF89a, `size`×`size`; `animated` adds a second, looping frame.
pub(crate) fn gif(p: Palette, size: u32, animated: bool) -> Vec<u8> {
    // GIF dimensions are 16-bit; callers clamp far below that.
    let side = size.min(u32::from(u16::MAX)) as u16;
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&side.to_le_bytes());
    out.extend_from_slice(&side.to_le_bytes());
    // Global colour table of 4 entries, 8-bit colour resolution.
    out.extend_from_slice(&[0xf1, 0, 0]);
    for c in [p.bg, p.fg, p.alt, [0, 0, 0]] {
        out.extend_from_slice(&c);
    }
    if animated {
        out.extend_from_slice(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00");
    }
    let frames: &[bool] = if animated { &[false, true] } else { &[false] };
    for &second in frames {
        // Graphic control: 0.6 s per frame, no transparency.
        out.extend_from_slice(&[0x21, 0xf9, 0x04, 0x00, 60, 0, 0, 0]);
        out.push(0x2c);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&side.to_le_bytes());
        out.extend_from_slice(&side.to_le_bytes());
        out.push(0); // no local colour table, not interlaced
        let mut indices = Vec::with_capacity(usize::from(side) * usize::from(side));
        for y in 0..u32::from(side) {
            for x in 0..u32::from(side) {
                let disc = in_disc(x, y, u32::from(side), second);
                indices.push(match (disc, second) {
                    (false, _) => 0,
                    (true, false) => 1,
                    (true, true) => 2,
                });
            }
        }
        out.push(2); // LZW minimum code size
        for block in gif_lzw(&indices).chunks(255) {
            out.push(block.len() as u8);
            out.extend_from_slice(block);
        }
        out.push(0);
    }
    out.push(0x3b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_well_formed() {
        let p = png(palette("x"), 16);
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&p[p.len() - 8..p.len() - 4], b"IEND");
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
    }

    /// Decodes our LZW back (fixed 3-bit codes) to check the packing.
    #[test]
    fn gif_lzw_round_trips() {
        let pixels: Vec<u8> = (0..37u8).map(|i| i % 3).collect();
        let data = gif_lzw(&pixels);
        let mut decoded = Vec::new();
        let (mut acc, mut n, mut bytes) = (0u32, 0u32, data.iter());
        loop {
            while n < 3 {
                acc |= u32::from(*bytes.next().unwrap()) << n;
                n += 8;
            }
            let code = acc & 7;
            acc >>= 3;
            n -= 3;
            match code {
                4 => {}
                5 => break,
                c => decoded.push(c as u8),
            }
        }
        assert_eq!(decoded, pixels);
    }

    #[test]
    fn gif_has_header_frames_and_trailer() {
        let still = gif(palette("a"), 32, false);
        let moving = gif(palette("a"), 32, true);
        assert!(still.starts_with(b"GIF89a"));
        assert_eq!(still.last(), Some(&0x3b));
        assert!(moving.windows(11).any(|w| w == b"NETSCAPE2.0"));
        assert!(moving.len() > still.len());
    }
}
