//! Bit-exact port of the float64 DCT-II / DCT-III that `scipy.fft.dct` and `scipy.fft.idct`
//! compute.
//!
//! FAST rounds `c * scale` half-to-even, and binary robot signals (gripper channels at exactly
//! 0/1 or ±1) produce DCT coefficients whose exact value is `k + 0.5`. On those ties the token
//! depends on the last bit of the float, so the transform has to reproduce scipy's result bit
//! for bit, not merely to within rounding error.
//!
//! scipy (checked against 1.17.1) computes these transforms with the header-only C++ pocketfft,
//! `pocketfft_hdronly.h` from `scipy/pocketfft` (ported from commit
//! `09b8936d46104adbfeade05bacf6fd2891bdf05f`): class `T_dcst23`, which runs a real FFT
//! (`pocketfft_r`) of the same length. That real FFT is either FFTPACK-style mixed radix
//! (`rfftp`: `radf2..radf5`/`radfg` forward, `radb2..radb5`/`radbg` backward) or, for lengths
//! with a large prime factor, Bluestein's algorithm (`fftblue`) on a complex FFT (`cfftp`:
//! `pass2/3/4/5/7/8/11`). Every function below keeps the C++ order of floating-point operations;
//! Rust never contracts `a*b + c` into a fused multiply-add, which matches scipy's x86-64 wheels
//! (built without FMA). Note that DCT-II runs the *backward* real FFT (`radb*`) and DCT-III the
//! forward one (`radf*`).
//!
//! Three values are computed in x87 80-bit `long double` by the C++ code and rounded to `f64`
//! afterwards: the twiddle angle `0.25L*pi/n`, and scipy's normalization factors
//! `1/sqrtl(2n)` ("ortho") and `1/(long double)(2n)` ("forward"). They are emulated exactly
//! with integer arithmetic in [`ext`]. The sines and cosines come from the platform `libm`, like
//! in scipy's extension module, so results are bit-exact when both use the same C library.
//!
//! Scalar and SIMD execution in pocketfft are lane-wise identical, so one column at a time here
//! matches scipy for any array shape and axis.
//!
//! The reference is scipy's x86-64 Linux build (x87 long double, no FMA), verified bit for bit
//! on lengths 1..=600 and a sample up to 5000. Builds where `long double` is plain `double`
//! (Windows, macOS arm64) or IEEE quad (Linux aarch64), or that contract into FMA (typical on
//! aarch64), can differ from it in the last bit; only float64 input is covered (scipy computes
//! float32 input with a float32 instantiation of the same code).

use std::ops::{Add, Mul, Sub};

// ---------------------------------------------------------------------------------------------
// Constants. pocketfft writes them as `T0(<decimal>L)`: the literal is rounded to long double
// first and then to double. The literals below are the shortest decimals of those
// double-rounded values (checked bit for bit in `tests::constants_are_double_rounded`); each doc
// comment gives pocketfft's literal.
// ---------------------------------------------------------------------------------------------

/// sqrt(2) = 1.414213562373095048801688724209698.
const SQRT2: f64 = std::f64::consts::SQRT_2;
/// sqrt(1/2) = 0.707106781186547524400844362104849.
const HSQT2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// sin(2pi/3) = 0.8660254037844386467637231707529362.
const TW3I: f64 = 0.8660254037844386;
/// cos(2pi/5) = 0.3090169943749474241022934171828191.
const TW5_1R: f64 = 0.30901699437494745;
/// sin(2pi/5) = 0.9510565162951535721164393333793821.
const TW5_1I: f64 = 0.9510565162951535;
/// cos(4pi/5) = -0.8090169943749474241022934171828191.
const TW5_2R: f64 = -0.8090169943749475;
/// sin(4pi/5) = 0.5877852522924731291687059546390728.
const TW5_2I: f64 = 0.5877852522924731;
/// cos(2pi/7) = 0.6234898018587335305250048840042398.
const TW7_1R: f64 = 0.6234898018587335;
/// sin(2pi/7) = 0.7818314824680298087084445266740578.
const TW7_1I: f64 = 0.7818314824680298;
/// cos(4pi/7) = -0.2225209339563144042889025644967948.
const TW7_2R: f64 = -0.2225209339563144;
/// sin(4pi/7) = 0.9749279121818236070181316829939312.
const TW7_2I: f64 = 0.9749279121818236;
/// cos(6pi/7) = -0.9009688679024191262361023195074451.
const TW7_3R: f64 = -0.9009688679024191;
/// sin(6pi/7) = 0.433883739117558120475768332848359.
const TW7_3I: f64 = 0.4338837391175581;
/// cos(2pi/11) = 0.8412535328311811688618116489193677.
const TW11_1R: f64 = 0.8412535328311812;
/// sin(2pi/11) = 0.5406408174555975821076359543186917.
const TW11_1I: f64 = 0.5406408174555976;
/// cos(4pi/11) = 0.4154150130018864255292741492296232.
const TW11_2R: f64 = 0.41541501300188644;
/// sin(4pi/11) = 0.9096319953545183714117153830790285.
const TW11_2I: f64 = 0.9096319953545183;
/// cos(6pi/11) = -0.1423148382732851404437926686163697.
const TW11_3R: f64 = -0.14231483827328514;
/// sin(6pi/11) = 0.9898214418809327323760920377767188.
const TW11_3I: f64 = 0.9898214418809327;
/// cos(8pi/11) = -0.6548607339452850640569250724662936.
const TW11_4R: f64 = -0.6548607339452851;
/// sin(8pi/11) = 0.7557495743542582837740358439723444.
const TW11_4I: f64 = 0.7557495743542583;
/// cos(10pi/11) = -0.9594929736144973898903680570663277.
const TW11_5R: f64 = -0.9594929736144974;
/// sin(10pi/11) = 0.2817325568414296977114179153466169.
const TW11_5I: f64 = 0.28173255684142967;

// ---------------------------------------------------------------------------------------------
// Public (crate) API
// ---------------------------------------------------------------------------------------------

/// The normalization factor `fct` scipy hands to pocketfft for a DCT/DST of type 2 or 3 along
/// an axis of length `len` (`norm_fct(inorm, dims, axes, 2)` in scipy's `pypocketfft.cxx`).
///
/// `inorm` is scipy's internal code: for `dct(…, norm=n)` it is 0 for `None`/`"backward"`,
/// 1 for `"ortho"` and 2 for `"forward"`; `idct` uses `2 - inorm` (with the other type). The
/// factor is `1`, `1/sqrt(2·len)` or `1/(2·len)`, each computed in x87 long double and then
/// rounded to `f64`, exactly as the C++ code does.
///
/// # Panics
/// If `inorm > 2` or `len == 0`.
pub(crate) fn scipy_norm_fct(inorm: u8, len: usize) -> f64 {
    assert!(len > 0, "zero-length DCT");
    let two_n = ext::Ext::from_u64(2 * len as u64);
    match inorm {
        0 => 1.0,
        1 => ext::Ext::ONE.div(two_n.sqrt()).to_f64(),
        2 => ext::Ext::ONE.div(two_n).to_f64(),
        _ => panic!("invalid inorm {inorm} (must be 0, 1 or 2)"),
    }
}

/// scipy-bit-exact DCT-II of one length: pocketfft's `T_dcst23` plan (real-FFT factors and
/// twiddles, or a Bluestein plan), built once and reusable from several threads.
///
/// `scipy.fft.dct(x, type=2, norm=n, orthogonalize=o)` of a float64 column equals
/// `exec(column, scipy_norm_fct(inorm(n), len), o.unwrap_or(n == "ortho"), …)`.
pub(crate) struct PocketDct2 {
    plan: Dcst23,
}

impl PocketDct2 {
    /// Plans a DCT-II of length `len` (at least 1).
    ///
    /// # Panics
    /// If `len == 0`.
    pub(crate) fn new(len: usize) -> Self {
        Self {
            plan: Dcst23::new(len),
        }
    }

    /// In-place DCT-II of `column` (whose length must be the planned one), multiplied by `fct`
    /// inside the FFT as pocketfft does (see [`scipy_norm_fct`]); with `ortho`, `column[0]` is
    /// then scaled by `1/sqrt(2)` (scipy's `orthogonalize`). `scratch` is resized as needed and
    /// can be reused across calls.
    ///
    /// # Panics
    /// If `column.len()` differs from the planned length.
    pub(crate) fn exec(&self, column: &mut [f64], fct: f64, ortho: bool, scratch: &mut Vec<f64>) {
        self.plan.exec2(column, fct, ortho, scratch);
    }
}

/// scipy-bit-exact DCT-III of one length (pocketfft's `T_dcst23` with type 3), the transform
/// behind `scipy.fft.idct(x, type=2)` and `scipy.fft.dct(x, type=3)`.
///
/// `scipy.fft.dct(x, type=3, norm=n, orthogonalize=o)` equals
/// `exec(column, scipy_norm_fct(inorm(n), len), o.unwrap_or(n == "ortho"), …)`;
/// `scipy.fft.idct(x, type=2, norm=n)` is the same with `inorm` replaced by `2 - inorm`.
pub(crate) struct PocketDct3 {
    plan: Dcst23,
}

impl PocketDct3 {
    /// Plans a DCT-III of length `len` (at least 1).
    ///
    /// # Panics
    /// If `len == 0`.
    pub(crate) fn new(len: usize) -> Self {
        Self {
            plan: Dcst23::new(len),
        }
    }

    /// In-place DCT-III of `column` (whose length must be the planned one). With `ortho`,
    /// `column[0]` is first scaled by `sqrt(2)`; the result is multiplied by `fct` inside the
    /// FFT as pocketfft does (see [`scipy_norm_fct`]). `scratch` is resized as needed and can be
    /// reused across calls.
    ///
    /// # Panics
    /// If `column.len()` differs from the planned length.
    pub(crate) fn exec(&self, column: &mut [f64], fct: f64, ortho: bool, scratch: &mut Vec<f64>) {
        self.plan.exec3(column, fct, ortho, scratch);
    }
}

// ---------------------------------------------------------------------------------------------
// x87 long double emulation
// ---------------------------------------------------------------------------------------------

/// Exact emulation of the few x87 80-bit `long double` operations pocketfft and scipy's
/// wrapper perform (64-bit significand, round to nearest even), followed by the conversion to
/// `f64` (round to nearest even again, i.e. double rounding as on the real hardware).
mod ext {
    /// A positive finite extended-precision value `m · 2^e` with the top bit of `m` set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) struct Ext {
        m: u64,
        e: i32,
    }

    /// `floor(sqrt(x))` for `x` in `[2^126, 2^128)` (`u128::isqrt` needs Rust 1.84).
    fn isqrt(x: u128) -> u128 {
        // The f64 estimate is within ~2^12 of the root; one Newton step brings it within 1.
        let mut r = (x as f64).sqrt() as u128;
        r = (r + x / r) / 2;
        while r * r > x {
            r -= 1;
        }
        while x / (r + 1) > r {
            r += 1;
        }
        r
    }

    impl Ext {
        /// 1.0
        pub(super) const ONE: Ext = Ext { m: 1 << 63, e: -63 };
        /// `3.141592653589793238462643383279502884197L` rounded to 64 significant bits.
        pub(super) const PI: Ext = Ext {
            m: 0xc90f_daa2_2168_c235,
            e: -62,
        };

        /// The exact value of a nonzero integer.
        pub(super) fn from_u64(v: u64) -> Ext {
            assert!(v != 0);
            let lz = v.leading_zeros();
            Ext {
                m: v << lz,
                e: -(lz as i32),
            }
        }

        /// Multiplication by `2^k` (exact).
        pub(super) fn scale2(self, k: i32) -> Ext {
            Ext {
                m: self.m,
                e: self.e + k,
            }
        }

        /// Correctly rounded quotient.
        pub(super) fn div(self, d: Ext) -> Ext {
            let (a, b) = (u128::from(self.m), u128::from(d.m));
            // a/b lies in (1/2, 2); pick the shift that gives a 64-bit quotient.
            let s = if a >= b { 63 } else { 64 };
            let num = a << s;
            let mut q = num / b;
            let r = num % b;
            debug_assert!((1u128 << 63..1u128 << 64).contains(&q));
            if 2 * r > b || (2 * r == b && q & 1 == 1) {
                q += 1;
            }
            Self::normalized(q, self.e - d.e - s)
        }

        /// Correctly rounded square root.
        pub(super) fn sqrt(self) -> Ext {
            // value = X · 2^(e - shift) with X in [2^126, 2^128) and e - shift even.
            let shift = if self.e.rem_euclid(2) == 0 { 64 } else { 63 };
            let x = u128::from(self.m) << shift;
            let mut r = isqrt(x);
            // sqrt(X) > r + 1/2  <=>  X - r² > r  (no ties are possible).
            if x - r * r > r {
                r += 1;
            }
            Self::normalized(r, (self.e - shift) / 2)
        }

        fn normalized(q: u128, e: i32) -> Ext {
            if q >> 64 != 0 {
                debug_assert!(q == 1 << 64);
                Ext {
                    m: 1 << 63,
                    e: e + 1,
                }
            } else {
                Ext { m: q as u64, e }
            }
        }

        /// Conversion to `f64`, rounding to nearest even (normal range only).
        pub(super) fn to_f64(self) -> f64 {
            let mut hi = self.m >> 11;
            let lo = self.m & 0x7ff;
            if lo > 0x400 || (lo == 0x400 && hi & 1 == 1) {
                hi += 1;
            }
            let k = self.e + 11;
            assert!((-1022..=1023).contains(&k), "exponent out of range");
            // `hi` <= 2^53 converts exactly and the power-of-two scaling is exact.
            hi as f64 * f64::from_bits(((k + 1023) as u64) << 52)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Complex helper type (pocketfft's `cmplx<double>`)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Cx {
    r: f64,
    i: f64,
}

impl Cx {
    const fn new(r: f64, i: f64) -> Self {
        Self { r, i }
    }
}

impl Add for Cx {
    type Output = Cx;
    #[inline(always)]
    fn add(self, o: Cx) -> Cx {
        Cx::new(self.r + o.r, self.i + o.i)
    }
}

impl Sub for Cx {
    type Output = Cx;
    #[inline(always)]
    fn sub(self, o: Cx) -> Cx {
        Cx::new(self.r - o.r, self.i - o.i)
    }
}

impl Mul<f64> for Cx {
    type Output = Cx;
    #[inline(always)]
    fn mul(self, f: f64) -> Cx {
        Cx::new(self.r * f, self.i * f)
    }
}

/// `special_mul<FWD>`: `v·conj(w)` when `FWD`, else `v·w`.
#[inline(always)]
fn smul<const FWD: bool>(v: Cx, w: Cx) -> Cx {
    if FWD {
        Cx::new(v.r * w.r + v.i * w.i, v.i * w.r - v.r * w.i)
    } else {
        Cx::new(v.r * w.r - v.i * w.i, v.r * w.i + v.i * w.r)
    }
}

/// `ROTX90<FWD>`: multiplication by `-i` (`FWD`) or `i`.
#[inline(always)]
fn rotx90<const FWD: bool>(a: Cx) -> Cx {
    if FWD {
        Cx::new(a.i, -a.r)
    } else {
        Cx::new(-a.i, a.r)
    }
}

/// `ROTX45<FWD>`.
#[inline(always)]
fn rotx45<const FWD: bool>(a: Cx) -> Cx {
    if FWD {
        Cx::new(HSQT2 * (a.r + a.i), HSQT2 * (a.i - a.r))
    } else {
        Cx::new(HSQT2 * (a.r - a.i), HSQT2 * (a.i + a.r))
    }
}

/// `ROTX135<FWD>`.
#[inline(always)]
fn rotx135<const FWD: bool>(a: Cx) -> Cx {
    if FWD {
        Cx::new(HSQT2 * (a.i - a.r), HSQT2 * (-a.r - a.i))
    } else {
        Cx::new(HSQT2 * (-a.r - a.i), HSQT2 * (a.r - a.i))
    }
}

/// `PM(a, b, c, d)`: `(c + d, c - d)`.
#[inline(always)]
fn pm<T: Copy + Add<Output = T> + Sub<Output = T>>(c: T, d: T) -> (T, T) {
    (c + d, c - d)
}

/// `MULPM(a, b, c, d, e, f)`: `(c·e + d·f, c·f - d·e)`.
#[inline(always)]
fn mulpm(c: f64, d: f64, e: f64, f: f64) -> (f64, f64) {
    (c * e + d * f, c * f - d * e)
}

// ---------------------------------------------------------------------------------------------
// Twiddle factors (`sincos_2pibyn`)
// ---------------------------------------------------------------------------------------------

/// `exp(2πi·k/n)` for all `k`, from two small tables multiplied on demand, as pocketfft does.
struct SinCos2PiByN {
    n: usize,
    mask: usize,
    shift: u32,
    v1: Vec<Cx>,
    v2: Vec<Cx>,
}

impl SinCos2PiByN {
    fn calc(x: usize, n: usize, ang: f64) -> Cx {
        let mut x = x << 3;
        let c = |v: usize| (v as f64 * ang).cos();
        let s = |v: usize| (v as f64 * ang).sin();
        if x < 4 * n {
            // first half
            if x < 2 * n {
                // first quadrant
                if x < n {
                    return Cx::new(c(x), s(x));
                }
                return Cx::new(s(2 * n - x), c(2 * n - x));
            }
            // second quadrant
            x -= 2 * n;
            if x < n {
                return Cx::new(-s(x), c(x));
            }
            return Cx::new(-c(2 * n - x), s(2 * n - x));
        }
        x = 8 * n - x;
        if x < 2 * n {
            // third quadrant
            if x < n {
                return Cx::new(c(x), -s(x));
            }
            return Cx::new(s(2 * n - x), -c(2 * n - x));
        }
        // fourth quadrant
        x -= 2 * n;
        if x < n {
            return Cx::new(-s(x), -c(x));
        }
        Cx::new(-c(2 * n - x), -s(2 * n - x))
    }

    fn new(n: usize) -> Self {
        // Thigh ang = Thigh(0.25L*pi/n), evaluated in long double.
        let ang = ext::Ext::PI
            .scale2(-2)
            .div(ext::Ext::from_u64(n as u64))
            .to_f64();
        let nval = (n + 2) / 2;
        let mut shift = 1u32;
        while (1usize << shift) * (1usize << shift) < nval {
            shift += 1;
        }
        let mask = (1usize << shift) - 1;
        let mut v1 = Vec::with_capacity(mask + 1);
        v1.push(Cx::new(1.0, 0.0));
        for i in 1..=mask {
            v1.push(Self::calc(i, n, ang));
        }
        let n2 = nval.div_ceil(mask + 1);
        let mut v2 = Vec::with_capacity(n2);
        v2.push(Cx::new(1.0, 0.0));
        for i in 1..n2 {
            v2.push(Self::calc(i * (mask + 1), n, ang));
        }
        Self {
            n,
            mask,
            shift,
            v1,
            v2,
        }
    }

    fn get(&self, idx: usize) -> Cx {
        if 2 * idx <= self.n {
            let x1 = self.v1[idx & self.mask];
            let x2 = self.v2[idx >> self.shift];
            return Cx::new(x1.r * x2.r - x1.i * x2.i, x1.r * x2.i + x1.i * x2.r);
        }
        let idx = self.n - idx;
        let x1 = self.v1[idx & self.mask];
        let x2 = self.v2[idx >> self.shift];
        Cx::new(x1.r * x2.r - x1.i * x2.i, -(x1.r * x2.i + x1.i * x2.r))
    }
}

// ---------------------------------------------------------------------------------------------
// Plan selection helpers (`util`)
// ---------------------------------------------------------------------------------------------

fn largest_prime_factor(mut n: usize) -> usize {
    let mut res = 1;
    while n & 1 == 0 {
        res = 2;
        n >>= 1;
    }
    let mut x = 3;
    while x * x <= n {
        while n % x == 0 {
            res = x;
            n /= x;
        }
        x += 2;
    }
    if n > 1 {
        res = n;
    }
    res
}

fn cost_guess(mut n: usize) -> f64 {
    const LFP: f64 = 1.1; // penalty for non-hardcoded larger factors
    let ni = n;
    let mut result = 0.0;
    while n & 1 == 0 {
        result += 2.0;
        n >>= 1;
    }
    let mut x = 3;
    while x * x <= n {
        while n % x == 0 {
            result += if x <= 5 { x as f64 } else { LFP * x as f64 };
            n /= x;
        }
        x += 2;
    }
    if n > 1 {
        result += if n <= 5 { n as f64 } else { LFP * n as f64 };
    }
    result * ni as f64
}

/// Smallest 2·3·5·7·11-smooth number `>= n`.
fn good_size_cmplx(n: usize) -> usize {
    if n <= 12 {
        return n;
    }
    let mut bestfac = 2 * n;
    let mut f11 = 1;
    while f11 < bestfac {
        let mut f117 = f11;
        while f117 < bestfac {
            let mut f1175 = f117;
            while f1175 < bestfac {
                let mut x = f1175;
                while x < n {
                    x *= 2;
                }
                loop {
                    if x < n {
                        x *= 3;
                    } else if x > n {
                        if x < bestfac {
                            bestfac = x;
                        }
                        if x & 1 == 1 {
                            break;
                        }
                        x >>= 1;
                    } else {
                        return n;
                    }
                }
                f1175 *= 5;
            }
            f117 *= 7;
        }
        f11 *= 11;
    }
    bestfac
}

// ---------------------------------------------------------------------------------------------
// Real FFTPACK transforms (`rfftp`)
// ---------------------------------------------------------------------------------------------

struct RFact {
    ip: usize,
    tw: Vec<f64>,
    /// `tws` of the C++ code as `(cos, sin)` pairs (generic factors only).
    tws: Vec<(f64, f64)>,
}

struct Rfftp {
    length: usize,
    fact: Vec<RFact>,
}

fn radf2(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    let wa = |x: usize, i: usize| wa[i + x * (ido - 1)];
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + 2 * c);

    for k in 0..l1 {
        let (a, b) = pm(cc[cci(0, k, 0)], cc[cci(0, k, 1)]);
        ch[chi(0, 0, k)] = a;
        ch[chi(ido - 1, 1, k)] = b;
    }
    if ido & 1 == 0 {
        for k in 0..l1 {
            ch[chi(0, 1, k)] = -cc[cci(ido - 1, k, 1)];
            ch[chi(ido - 1, 0, k)] = cc[cci(ido - 1, k, 0)];
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (tr2, ti2) = mulpm(
                wa(0, i - 2),
                wa(0, i - 1),
                cc[cci(i - 1, k, 1)],
                cc[cci(i, k, 1)],
            );
            let (a, b) = pm(cc[cci(i - 1, k, 0)], tr2);
            ch[chi(i - 1, 0, k)] = a;
            ch[chi(ic - 1, 1, k)] = b;
            let (a, b) = pm(ti2, cc[cci(i, k, 0)]);
            ch[chi(i, 0, k)] = a;
            ch[chi(ic, 1, k)] = b;
        }
    }
}

/// `POCKETFFT_REARRANGE(rx, ix, ry, iy)`, returning the new `(rx, ix, ry, iy)`.
#[inline(always)]
fn rearrange(rx: f64, ix: f64, ry: f64, iy: f64) -> (f64, f64, f64, f64) {
    let (t1, t2, t3, t4) = (rx + ry, ry - rx, ix + iy, ix - iy);
    (t1, t3, t4, t2)
}

fn radf3(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    const TAUR: f64 = -0.5;
    const TAUI: f64 = TW3I;
    let wa = |x: usize, i: usize| wa[i + x * (ido - 1)];
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + 3 * c);

    for k in 0..l1 {
        let cr2 = cc[cci(0, k, 1)] + cc[cci(0, k, 2)];
        ch[chi(0, 0, k)] = cc[cci(0, k, 0)] + cr2;
        ch[chi(0, 2, k)] = TAUI * (cc[cci(0, k, 2)] - cc[cci(0, k, 1)]);
        ch[chi(ido - 1, 1, k)] = cc[cci(0, k, 0)] + TAUR * cr2;
    }
    if ido == 1 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (dr2, di2) = mulpm(
                wa(0, i - 2),
                wa(0, i - 1),
                cc[cci(i - 1, k, 1)],
                cc[cci(i, k, 1)],
            );
            let (dr3, di3) = mulpm(
                wa(1, i - 2),
                wa(1, i - 1),
                cc[cci(i - 1, k, 2)],
                cc[cci(i, k, 2)],
            );
            let (dr2, di2, dr3, di3) = rearrange(dr2, di2, dr3, di3);
            ch[chi(i - 1, 0, k)] = cc[cci(i - 1, k, 0)] + dr2;
            ch[chi(i, 0, k)] = cc[cci(i, k, 0)] + di2;
            let tr2 = cc[cci(i - 1, k, 0)] + TAUR * dr2;
            let ti2 = cc[cci(i, k, 0)] + TAUR * di2;
            let tr3 = TAUI * dr3;
            let ti3 = TAUI * di3;
            let (a, b) = pm(tr2, tr3);
            ch[chi(i - 1, 2, k)] = a;
            ch[chi(ic - 1, 1, k)] = b;
            let (a, b) = pm(ti3, ti2);
            ch[chi(i, 2, k)] = a;
            ch[chi(ic, 1, k)] = b;
        }
    }
}

fn radf4(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    let wa = |x: usize, i: usize| wa[i + x * (ido - 1)];
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + 4 * c);

    for k in 0..l1 {
        let (tr1, b) = pm(cc[cci(0, k, 3)], cc[cci(0, k, 1)]);
        ch[chi(0, 2, k)] = b;
        let (tr2, b) = pm(cc[cci(0, k, 0)], cc[cci(0, k, 2)]);
        ch[chi(ido - 1, 1, k)] = b;
        let (a, b) = pm(tr2, tr1);
        ch[chi(0, 0, k)] = a;
        ch[chi(ido - 1, 3, k)] = b;
    }
    if ido & 1 == 0 {
        for k in 0..l1 {
            let ti1 = -HSQT2 * (cc[cci(ido - 1, k, 1)] + cc[cci(ido - 1, k, 3)]);
            let tr1 = HSQT2 * (cc[cci(ido - 1, k, 1)] - cc[cci(ido - 1, k, 3)]);
            let (a, b) = pm(cc[cci(ido - 1, k, 0)], tr1);
            ch[chi(ido - 1, 0, k)] = a;
            ch[chi(ido - 1, 2, k)] = b;
            let (a, b) = pm(ti1, cc[cci(ido - 1, k, 2)]);
            ch[chi(0, 3, k)] = a;
            ch[chi(0, 1, k)] = b;
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (cr2, ci2) = mulpm(
                wa(0, i - 2),
                wa(0, i - 1),
                cc[cci(i - 1, k, 1)],
                cc[cci(i, k, 1)],
            );
            let (cr3, ci3) = mulpm(
                wa(1, i - 2),
                wa(1, i - 1),
                cc[cci(i - 1, k, 2)],
                cc[cci(i, k, 2)],
            );
            let (cr4, ci4) = mulpm(
                wa(2, i - 2),
                wa(2, i - 1),
                cc[cci(i - 1, k, 3)],
                cc[cci(i, k, 3)],
            );
            let (tr1, tr4) = pm(cr4, cr2);
            let (ti1, ti4) = pm(ci2, ci4);
            let (tr2, tr3) = pm(cc[cci(i - 1, k, 0)], cr3);
            let (ti2, ti3) = pm(cc[cci(i, k, 0)], ci3);
            let (a, b) = pm(tr2, tr1);
            ch[chi(i - 1, 0, k)] = a;
            ch[chi(ic - 1, 3, k)] = b;
            let (a, b) = pm(ti1, ti2);
            ch[chi(i, 0, k)] = a;
            ch[chi(ic, 3, k)] = b;
            let (a, b) = pm(tr3, ti4);
            ch[chi(i - 1, 2, k)] = a;
            ch[chi(ic - 1, 1, k)] = b;
            let (a, b) = pm(tr4, ti3);
            ch[chi(i, 2, k)] = a;
            ch[chi(ic, 1, k)] = b;
        }
    }
}

fn radf5(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    const TR11: f64 = TW5_1R;
    const TI11: f64 = TW5_1I;
    const TR12: f64 = TW5_2R;
    const TI12: f64 = TW5_2I;
    let wa = |x: usize, i: usize| wa[i + x * (ido - 1)];
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + 5 * c);

    for k in 0..l1 {
        let (cr2, ci5) = pm(cc[cci(0, k, 4)], cc[cci(0, k, 1)]);
        let (cr3, ci4) = pm(cc[cci(0, k, 3)], cc[cci(0, k, 2)]);
        let c0 = cc[cci(0, k, 0)];
        ch[chi(0, 0, k)] = c0 + cr2 + cr3;
        ch[chi(ido - 1, 1, k)] = c0 + TR11 * cr2 + TR12 * cr3;
        ch[chi(0, 2, k)] = TI11 * ci5 + TI12 * ci4;
        ch[chi(ido - 1, 3, k)] = c0 + TR12 * cr2 + TR11 * cr3;
        ch[chi(0, 4, k)] = TI12 * ci5 - TI11 * ci4;
    }
    if ido == 1 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (dr2, di2) = mulpm(
                wa(0, i - 2),
                wa(0, i - 1),
                cc[cci(i - 1, k, 1)],
                cc[cci(i, k, 1)],
            );
            let (dr3, di3) = mulpm(
                wa(1, i - 2),
                wa(1, i - 1),
                cc[cci(i - 1, k, 2)],
                cc[cci(i, k, 2)],
            );
            let (dr4, di4) = mulpm(
                wa(2, i - 2),
                wa(2, i - 1),
                cc[cci(i - 1, k, 3)],
                cc[cci(i, k, 3)],
            );
            let (dr5, di5) = mulpm(
                wa(3, i - 2),
                wa(3, i - 1),
                cc[cci(i - 1, k, 4)],
                cc[cci(i, k, 4)],
            );
            let (dr2, di2, dr5, di5) = rearrange(dr2, di2, dr5, di5);
            let (dr3, di3, dr4, di4) = rearrange(dr3, di3, dr4, di4);
            let cr = cc[cci(i - 1, k, 0)];
            let ci = cc[cci(i, k, 0)];
            ch[chi(i - 1, 0, k)] = cr + dr2 + dr3;
            ch[chi(i, 0, k)] = ci + di2 + di3;
            let tr2 = cr + TR11 * dr2 + TR12 * dr3;
            let ti2 = ci + TR11 * di2 + TR12 * di3;
            let tr3 = cr + TR12 * dr2 + TR11 * dr3;
            let ti3 = ci + TR12 * di2 + TR11 * di3;
            let tr5 = TI11 * dr5 + TI12 * dr4;
            let ti5 = TI11 * di5 + TI12 * di4;
            let tr4 = TI12 * dr5 - TI11 * dr4;
            let ti4 = TI12 * di5 - TI11 * di4;
            let (a, b) = pm(tr2, tr5);
            ch[chi(i - 1, 2, k)] = a;
            ch[chi(ic - 1, 1, k)] = b;
            let (a, b) = pm(ti5, ti2);
            ch[chi(i, 2, k)] = a;
            ch[chi(ic, 1, k)] = b;
            let (a, b) = pm(tr3, tr4);
            ch[chi(i - 1, 4, k)] = a;
            ch[chi(ic - 1, 3, k)] = b;
            let (a, b) = pm(ti4, ti3);
            ch[chi(i, 4, k)] = a;
            ch[chi(ic, 3, k)] = b;
        }
    }
}

/// The O(ip²) core shared by `radfg` and `radbg` (their loops "127"): for each output pair
/// `(l, ip-l)`, `out` row `l` gets `inp[0] + Σ_j cos(2π·jl/ip)·inp[j]` and row `ip-l` the
/// matching sine sum, accumulated in exactly pocketfft's order (first two terms, then groups of
/// four, two and one). Rows are `idl1` long; `cs[m]` is `(csarr[2m], csarr[2m+1])`.
///
/// `radfg` wraps the angle index `iang` with `iang >= ip` and `radbg` with `iang > ip`; they
/// agree because the generic factors are primes (`rfftp` splits off 4s and 2 first, then
/// divides by increasing odd numbers), so `iang`, which is `l·j mod ip` with `0 < l, j < ip`,
/// never equals `ip`.
fn gen_combine(out: &mut [f64], inp: &[f64], ip: usize, idl1: usize, cs: &[(f64, f64)]) {
    let ipph = ip.div_ceil(2);
    let cs = &cs[..ip];
    if idl1 == 1 {
        // Prime length: one value per row; accumulate in registers (same operation order).
        let (out, inp) = (&mut out[..ip], &inp[..ip]);
        for l in 1..ipph {
            let lc = ip - l;
            let ((w1r, w1i), (w2r, w2i)) = (cs[l], cs[2 * l]);
            let mut sl = inp[0] + w1r * inp[1] + w2r * inp[2];
            let mut slc = w1i * inp[ip - 1] + w2i * inp[ip - 2];
            let mut iang = 2 * l;
            let mut next = || {
                iang += l;
                if iang >= ip {
                    iang -= ip;
                }
                cs[iang]
            };
            let mut j = 3;
            while j + 3 < ipph {
                let (ar1, ai1) = next();
                let (ar2, ai2) = next();
                let (ar3, ai3) = next();
                let (ar4, ai4) = next();
                let a = &inp[j..j + 4];
                let b = &inp[ip - j - 3..ip - j + 1]; // jc-3 ..= jc
                sl += ar1 * a[0] + ar2 * a[1] + ar3 * a[2] + ar4 * a[3];
                slc += ai1 * b[3] + ai2 * b[2] + ai3 * b[1] + ai4 * b[0];
                j += 4;
            }
            while j + 1 < ipph {
                let (ar1, ai1) = next();
                let (ar2, ai2) = next();
                let a = &inp[j..j + 2];
                let b = &inp[ip - j - 1..ip - j + 1]; // jc-1 ..= jc
                sl += ar1 * a[0] + ar2 * a[1];
                slc += ai1 * b[1] + ai2 * b[0];
                j += 2;
            }
            while j < ipph {
                let (ar, ai) = next();
                sl += ar * inp[j];
                slc += ai * inp[ip - j];
                j += 1;
            }
            out[l] = sl;
            out[lc] = slc;
        }
        return;
    }
    let row = |r: usize| &inp[idl1 * r..idl1 * (r + 1)];
    for l in 1..ipph {
        let lc = ip - l;
        let (head, tail) = out.split_at_mut(idl1 * lc);
        let ol = &mut head[idl1 * l..idl1 * (l + 1)];
        let olc = &mut tail[..idl1];
        {
            let ((w1r, w1i), (w2r, w2i)) = (cs[l], cs[2 * l]);
            let (r0, r1, r2, rm1, rm2) = (row(0), row(1), row(2), row(ip - 1), row(ip - 2));
            for ik in 0..idl1 {
                ol[ik] = r0[ik] + w1r * r1[ik] + w2r * r2[ik];
                olc[ik] = w1i * rm1[ik] + w2i * rm2[ik];
            }
        }
        let mut iang = 2 * l;
        let mut next = || {
            iang += l;
            if iang >= ip {
                iang -= ip;
            }
            cs[iang]
        };
        let mut j = 3;
        let mut jc = ip - 3;
        while j + 3 < ipph {
            let (ar1, ai1) = next();
            let (ar2, ai2) = next();
            let (ar3, ai3) = next();
            let (ar4, ai4) = next();
            let (a1, a2, a3, a4) = (row(j), row(j + 1), row(j + 2), row(j + 3));
            let (b1, b2, b3, b4) = (row(jc), row(jc - 1), row(jc - 2), row(jc - 3));
            for ik in 0..idl1 {
                ol[ik] += ar1 * a1[ik] + ar2 * a2[ik] + ar3 * a3[ik] + ar4 * a4[ik];
                olc[ik] += ai1 * b1[ik] + ai2 * b2[ik] + ai3 * b3[ik] + ai4 * b4[ik];
            }
            j += 4;
            jc -= 4;
        }
        while j + 1 < ipph {
            let (ar1, ai1) = next();
            let (ar2, ai2) = next();
            let (a1, a2, b1, b2) = (row(j), row(j + 1), row(jc), row(jc - 1));
            for ik in 0..idl1 {
                ol[ik] += ar1 * a1[ik] + ar2 * a2[ik];
                olc[ik] += ai1 * b1[ik] + ai2 * b2[ik];
            }
            j += 2;
            jc -= 2;
        }
        while j < ipph {
            let (ar, ai) = next();
            let (a1, b1) = (row(j), row(jc));
            for ik in 0..idl1 {
                ol[ik] += ar * a1[ik];
                olc[ik] += ai * b1[ik];
            }
            j += 1;
            jc -= 1;
        }
    }
}

/// Generic odd-prime forward pass. The result ends up in `cc` (unlike the other passes).
#[allow(clippy::too_many_arguments)]
fn radfg(
    ido: usize,
    ip: usize,
    l1: usize,
    cc: &mut [f64],
    ch: &mut [f64],
    wa: &[f64],
    cs: &[(f64, f64)],
) {
    let cdim = ip;
    let ipph = ip.div_ceil(2);
    let idl1 = ido * l1;
    let ccx = |a: usize, b: usize, c: usize| a + ido * (b + cdim * c);
    let chx = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let c1 = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let c2 = |a: usize, b: usize| a + idl1 * b;
    let ch2 = |a: usize, b: usize| a + idl1 * b;

    if ido > 1 {
        for (j, jc) in (1..ipph).map(|j| (j, ip - j)) {
            let is = (j - 1) * (ido - 1);
            let is2 = (jc - 1) * (ido - 1);
            for k in 0..l1 {
                let mut idij = is;
                let mut idij2 = is2;
                let mut i = 1;
                while i + 2 <= ido {
                    let t1 = cc[c1(i, k, j)];
                    let t2 = cc[c1(i + 1, k, j)];
                    let t3 = cc[c1(i, k, jc)];
                    let t4 = cc[c1(i + 1, k, jc)];
                    let x1 = wa[idij] * t1 + wa[idij + 1] * t2;
                    let x2 = wa[idij] * t2 - wa[idij + 1] * t1;
                    let x3 = wa[idij2] * t3 + wa[idij2 + 1] * t4;
                    let x4 = wa[idij2] * t4 - wa[idij2 + 1] * t3;
                    let (a, b) = pm(x3, x1);
                    cc[c1(i, k, j)] = a;
                    cc[c1(i + 1, k, jc)] = b;
                    let (a, b) = pm(x2, x4);
                    cc[c1(i + 1, k, j)] = a;
                    cc[c1(i, k, jc)] = b;
                    idij += 2;
                    idij2 += 2;
                    i += 2;
                }
            }
        }
    }

    for (j, jc) in (1..ipph).map(|j| (j, ip - j)) {
        for k in 0..l1 {
            // MPINPLACE(C1(0,k,jc), C1(0,k,j))
            let a = cc[c1(0, k, jc)];
            let b = cc[c1(0, k, j)];
            cc[c1(0, k, jc)] = a - b;
            cc[c1(0, k, j)] = a + b;
        }
    }

    gen_combine(ch, cc, ip, idl1, cs);
    for ik in 0..idl1 {
        ch[ch2(ik, 0)] = cc[c2(ik, 0)];
    }
    for j in 1..ipph {
        for ik in 0..idl1 {
            ch[ch2(ik, 0)] += cc[c2(ik, j)];
        }
    }

    for k in 0..l1 {
        for i in 0..ido {
            cc[ccx(i, 0, k)] = ch[chx(i, k, 0)];
        }
    }
    for (j, jc) in (1..ipph).map(|j| (j, ip - j)) {
        let j2 = 2 * j - 1;
        for k in 0..l1 {
            cc[ccx(ido - 1, j2, k)] = ch[chx(0, k, j)];
            cc[ccx(0, j2 + 1, k)] = ch[chx(0, k, jc)];
        }
    }
    if ido == 1 {
        return;
    }
    for (j, jc) in (1..ipph).map(|j| (j, ip - j)) {
        let j2 = 2 * j - 1;
        for k in 0..l1 {
            let mut i = 1;
            while i + 2 <= ido {
                let ic = ido - i - 2;
                cc[ccx(i, j2 + 1, k)] = ch[chx(i, k, j)] + ch[chx(i, k, jc)];
                cc[ccx(ic, j2, k)] = ch[chx(i, k, j)] - ch[chx(i, k, jc)];
                cc[ccx(i + 1, j2 + 1, k)] = ch[chx(i + 1, k, j)] + ch[chx(i + 1, k, jc)];
                cc[ccx(ic + 1, j2, k)] = ch[chx(i + 1, k, jc)] - ch[chx(i + 1, k, j)];
                i += 2;
            }
        }
    }
}

fn radb2(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    let wa = |x: usize, i: usize| wa[i + x * (ido - 1)];
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + 2 * c);
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);

    for k in 0..l1 {
        let (a, b) = pm(cc[cci(0, 0, k)], cc[cci(ido - 1, 1, k)]);
        ch[chi(0, k, 0)] = a;
        ch[chi(0, k, 1)] = b;
    }
    if ido & 1 == 0 {
        for k in 0..l1 {
            ch[chi(ido - 1, k, 0)] = 2.0 * cc[cci(ido - 1, 0, k)];
            ch[chi(ido - 1, k, 1)] = -2.0 * cc[cci(0, 1, k)];
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (a, tr2) = pm(cc[cci(i - 1, 0, k)], cc[cci(ic - 1, 1, k)]);
            ch[chi(i - 1, k, 0)] = a;
            let (ti2, b) = pm(cc[cci(i, 0, k)], cc[cci(ic, 1, k)]);
            ch[chi(i, k, 0)] = b;
            let (a, b) = mulpm(wa(0, i - 2), wa(0, i - 1), ti2, tr2);
            ch[chi(i, k, 1)] = a;
            ch[chi(i - 1, k, 1)] = b;
        }
    }
}

fn radb3(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    const TAUR: f64 = -0.5;
    const TAUI: f64 = TW3I;
    let wa = |x: usize, i: usize| wa[i + x * (ido - 1)];
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + 3 * c);
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);

    for k in 0..l1 {
        let tr2 = 2.0 * cc[cci(ido - 1, 1, k)];
        let cr2 = cc[cci(0, 0, k)] + TAUR * tr2;
        ch[chi(0, k, 0)] = cc[cci(0, 0, k)] + tr2;
        let ci3 = 2.0 * TAUI * cc[cci(0, 2, k)];
        let (a, b) = pm(cr2, ci3);
        ch[chi(0, k, 2)] = a;
        ch[chi(0, k, 1)] = b;
    }
    if ido == 1 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let tr2 = cc[cci(i - 1, 2, k)] + cc[cci(ic - 1, 1, k)];
            let ti2 = cc[cci(i, 2, k)] - cc[cci(ic, 1, k)];
            let cr2 = cc[cci(i - 1, 0, k)] + TAUR * tr2;
            let ci2 = cc[cci(i, 0, k)] + TAUR * ti2;
            ch[chi(i - 1, k, 0)] = cc[cci(i - 1, 0, k)] + tr2;
            ch[chi(i, k, 0)] = cc[cci(i, 0, k)] + ti2;
            let cr3 = TAUI * (cc[cci(i - 1, 2, k)] - cc[cci(ic - 1, 1, k)]);
            let ci3 = TAUI * (cc[cci(i, 2, k)] + cc[cci(ic, 1, k)]);
            let (dr3, dr2) = pm(cr2, ci3);
            let (di2, di3) = pm(ci2, cr3);
            let (a, b) = mulpm(wa(0, i - 2), wa(0, i - 1), di2, dr2);
            ch[chi(i, k, 1)] = a;
            ch[chi(i - 1, k, 1)] = b;
            let (a, b) = mulpm(wa(1, i - 2), wa(1, i - 1), di3, dr3);
            ch[chi(i, k, 2)] = a;
            ch[chi(i - 1, k, 2)] = b;
        }
    }
}

fn radb4(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    let wa = |x: usize, i: usize| wa[i + x * (ido - 1)];
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + 4 * c);
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);

    for k in 0..l1 {
        let (tr2, tr1) = pm(cc[cci(0, 0, k)], cc[cci(ido - 1, 3, k)]);
        let tr3 = 2.0 * cc[cci(ido - 1, 1, k)];
        let tr4 = 2.0 * cc[cci(0, 2, k)];
        let (a, b) = pm(tr2, tr3);
        ch[chi(0, k, 0)] = a;
        ch[chi(0, k, 2)] = b;
        let (a, b) = pm(tr1, tr4);
        ch[chi(0, k, 3)] = a;
        ch[chi(0, k, 1)] = b;
    }
    if ido & 1 == 0 {
        for k in 0..l1 {
            let (ti1, ti2) = pm(cc[cci(0, 3, k)], cc[cci(0, 1, k)]);
            let (tr2, tr1) = pm(cc[cci(ido - 1, 0, k)], cc[cci(ido - 1, 2, k)]);
            ch[chi(ido - 1, k, 0)] = tr2 + tr2;
            ch[chi(ido - 1, k, 1)] = SQRT2 * (tr1 - ti1);
            ch[chi(ido - 1, k, 2)] = ti2 + ti2;
            ch[chi(ido - 1, k, 3)] = -SQRT2 * (tr1 + ti1);
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (tr2, tr1) = pm(cc[cci(i - 1, 0, k)], cc[cci(ic - 1, 3, k)]);
            let (ti1, ti2) = pm(cc[cci(i, 0, k)], cc[cci(ic, 3, k)]);
            let (tr4, ti3) = pm(cc[cci(i, 2, k)], cc[cci(ic, 1, k)]);
            let (tr3, ti4) = pm(cc[cci(i - 1, 2, k)], cc[cci(ic - 1, 1, k)]);
            let (a, cr3) = pm(tr2, tr3);
            ch[chi(i - 1, k, 0)] = a;
            let (a, ci3) = pm(ti2, ti3);
            ch[chi(i, k, 0)] = a;
            let (cr4, cr2) = pm(tr1, tr4);
            let (ci2, ci4) = pm(ti1, ti4);
            let (a, b) = mulpm(wa(0, i - 2), wa(0, i - 1), ci2, cr2);
            ch[chi(i, k, 1)] = a;
            ch[chi(i - 1, k, 1)] = b;
            let (a, b) = mulpm(wa(1, i - 2), wa(1, i - 1), ci3, cr3);
            ch[chi(i, k, 2)] = a;
            ch[chi(i - 1, k, 2)] = b;
            let (a, b) = mulpm(wa(2, i - 2), wa(2, i - 1), ci4, cr4);
            ch[chi(i, k, 3)] = a;
            ch[chi(i - 1, k, 3)] = b;
        }
    }
}

fn radb5(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    const TR11: f64 = TW5_1R;
    const TI11: f64 = TW5_1I;
    const TR12: f64 = TW5_2R;
    const TI12: f64 = TW5_2I;
    let wa = |x: usize, i: usize| wa[i + x * (ido - 1)];
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + 5 * c);
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);

    for k in 0..l1 {
        let ti5 = cc[cci(0, 2, k)] + cc[cci(0, 2, k)];
        let ti4 = cc[cci(0, 4, k)] + cc[cci(0, 4, k)];
        let tr2 = cc[cci(ido - 1, 1, k)] + cc[cci(ido - 1, 1, k)];
        let tr3 = cc[cci(ido - 1, 3, k)] + cc[cci(ido - 1, 3, k)];
        let c0 = cc[cci(0, 0, k)];
        ch[chi(0, k, 0)] = c0 + tr2 + tr3;
        let cr2 = c0 + TR11 * tr2 + TR12 * tr3;
        let cr3 = c0 + TR12 * tr2 + TR11 * tr3;
        let (ci5, ci4) = mulpm(ti5, ti4, TI11, TI12);
        let (a, b) = pm(cr2, ci5);
        ch[chi(0, k, 4)] = a;
        ch[chi(0, k, 1)] = b;
        let (a, b) = pm(cr3, ci4);
        ch[chi(0, k, 3)] = a;
        ch[chi(0, k, 2)] = b;
    }
    if ido == 1 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (tr2, tr5) = pm(cc[cci(i - 1, 2, k)], cc[cci(ic - 1, 1, k)]);
            let (ti5, ti2) = pm(cc[cci(i, 2, k)], cc[cci(ic, 1, k)]);
            let (tr3, tr4) = pm(cc[cci(i - 1, 4, k)], cc[cci(ic - 1, 3, k)]);
            let (ti4, ti3) = pm(cc[cci(i, 4, k)], cc[cci(ic, 3, k)]);
            let cr = cc[cci(i - 1, 0, k)];
            let ci = cc[cci(i, 0, k)];
            ch[chi(i - 1, k, 0)] = cr + tr2 + tr3;
            ch[chi(i, k, 0)] = ci + ti2 + ti3;
            let cr2 = cr + TR11 * tr2 + TR12 * tr3;
            let ci2 = ci + TR11 * ti2 + TR12 * ti3;
            let cr3 = cr + TR12 * tr2 + TR11 * tr3;
            let ci3 = ci + TR12 * ti2 + TR11 * ti3;
            let (cr5, cr4) = mulpm(tr5, tr4, TI11, TI12);
            let (ci5, ci4) = mulpm(ti5, ti4, TI11, TI12);
            let (dr4, dr3) = pm(cr3, ci4);
            let (di3, di4) = pm(ci3, cr4);
            let (dr5, dr2) = pm(cr2, ci5);
            let (di2, di5) = pm(ci2, cr5);
            let (a, b) = mulpm(wa(0, i - 2), wa(0, i - 1), di2, dr2);
            ch[chi(i, k, 1)] = a;
            ch[chi(i - 1, k, 1)] = b;
            let (a, b) = mulpm(wa(1, i - 2), wa(1, i - 1), di3, dr3);
            ch[chi(i, k, 2)] = a;
            ch[chi(i - 1, k, 2)] = b;
            let (a, b) = mulpm(wa(2, i - 2), wa(2, i - 1), di4, dr4);
            ch[chi(i, k, 3)] = a;
            ch[chi(i - 1, k, 3)] = b;
            let (a, b) = mulpm(wa(3, i - 2), wa(3, i - 1), di5, dr5);
            ch[chi(i, k, 4)] = a;
            ch[chi(i - 1, k, 4)] = b;
        }
    }
}

/// Generic odd-prime backward pass (result in `ch`; `cc` is used as workspace).
#[allow(clippy::too_many_arguments)]
fn radbg(
    ido: usize,
    ip: usize,
    l1: usize,
    cc: &mut [f64],
    ch: &mut [f64],
    wa: &[f64],
    cs: &[(f64, f64)],
) {
    let cdim = ip;
    let ipph = ip.div_ceil(2);
    let idl1 = ido * l1;
    let ccx = |a: usize, b: usize, c: usize| a + ido * (b + cdim * c);
    let chx = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let c1 = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let ch2 = |a: usize, b: usize| a + idl1 * b;

    for k in 0..l1 {
        for i in 0..ido {
            ch[chx(i, k, 0)] = cc[ccx(i, 0, k)];
        }
    }
    for (j, jc) in (1..ipph).map(|j| (j, ip - j)) {
        let j2 = 2 * j - 1;
        for k in 0..l1 {
            ch[chx(0, k, j)] = 2.0 * cc[ccx(ido - 1, j2, k)];
            ch[chx(0, k, jc)] = 2.0 * cc[ccx(0, j2 + 1, k)];
        }
    }
    if ido != 1 {
        for (j, jc) in (1..ipph).map(|j| (j, ip - j)) {
            let j2 = 2 * j - 1;
            for k in 0..l1 {
                let mut i = 1;
                while i + 2 <= ido {
                    let ic = ido - i - 2;
                    ch[chx(i, k, j)] = cc[ccx(i, j2 + 1, k)] + cc[ccx(ic, j2, k)];
                    ch[chx(i, k, jc)] = cc[ccx(i, j2 + 1, k)] - cc[ccx(ic, j2, k)];
                    ch[chx(i + 1, k, j)] = cc[ccx(i + 1, j2 + 1, k)] - cc[ccx(ic + 1, j2, k)];
                    ch[chx(i + 1, k, jc)] = cc[ccx(i + 1, j2 + 1, k)] + cc[ccx(ic + 1, j2, k)];
                    i += 2;
                }
            }
        }
    }
    gen_combine(cc, ch, ip, idl1, cs);
    for j in 1..ipph {
        for ik in 0..idl1 {
            ch[ch2(ik, 0)] += ch[ch2(ik, j)];
        }
    }
    for (j, jc) in (1..ipph).map(|j| (j, ip - j)) {
        for k in 0..l1 {
            let (a, b) = pm(cc[c1(0, k, j)], cc[c1(0, k, jc)]);
            ch[chx(0, k, jc)] = a;
            ch[chx(0, k, j)] = b;
        }
    }
    if ido == 1 {
        return;
    }
    for (j, jc) in (1..ipph).map(|j| (j, ip - j)) {
        for k in 0..l1 {
            let mut i = 1;
            while i + 2 <= ido {
                ch[chx(i, k, j)] = cc[c1(i, k, j)] - cc[c1(i + 1, k, jc)];
                ch[chx(i, k, jc)] = cc[c1(i, k, j)] + cc[c1(i + 1, k, jc)];
                ch[chx(i + 1, k, j)] = cc[c1(i + 1, k, j)] + cc[c1(i, k, jc)];
                ch[chx(i + 1, k, jc)] = cc[c1(i + 1, k, j)] - cc[c1(i, k, jc)];
                i += 2;
            }
        }
    }
    // All in CH
    for j in 1..ip {
        let is = (j - 1) * (ido - 1);
        for k in 0..l1 {
            let mut idij = is;
            let mut i = 1;
            while i + 2 <= ido {
                let t1 = ch[chx(i, k, j)];
                let t2 = ch[chx(i + 1, k, j)];
                ch[chx(i, k, j)] = wa[idij] * t1 - wa[idij + 1] * t2;
                ch[chx(i + 1, k, j)] = wa[idij] * t2 + wa[idij + 1] * t1;
                idij += 2;
                i += 2;
            }
        }
    }
}

impl Rfftp {
    fn new(length: usize) -> Self {
        assert!(length > 0, "zero-length FFT requested");
        if length == 1 {
            return Self {
                length,
                fact: Vec::new(),
            };
        }
        let mut ips = Vec::new();
        let mut len = length;
        while len % 4 == 0 {
            ips.push(4);
            len >>= 2;
        }
        if len % 2 == 0 {
            len >>= 1;
            // factor 2 should be at the front of the factor list
            ips.push(2);
            let last = ips.len() - 1;
            ips.swap(0, last);
        }
        let mut divisor = 3;
        while divisor * divisor <= len {
            while len % divisor == 0 {
                ips.push(divisor);
                len /= divisor;
            }
            divisor += 2;
        }
        if len > 1 {
            ips.push(len);
        }

        let twid = SinCos2PiByN::new(length);
        let mut fact = Vec::with_capacity(ips.len());
        let mut l1 = 1;
        for (k, &ip) in ips.iter().enumerate() {
            let ido = length / (l1 * ip);
            let mut tw = vec![0.0; (ip - 1) * (ido - 1)];
            if k < ips.len() - 1 {
                // last factor doesn't need twiddles
                for j in 1..ip {
                    for i in 1..=(ido - 1) / 2 {
                        let t = twid.get(j * l1 * i);
                        tw[(j - 1) * (ido - 1) + 2 * i - 2] = t.r;
                        tw[(j - 1) * (ido - 1) + 2 * i - 1] = t.i;
                    }
                }
            }
            let mut tws = Vec::new();
            if ip > 5 {
                // special factors required by *g functions
                let mut flat = vec![0.0; 2 * ip];
                flat[0] = 1.0;
                flat[1] = 0.0;
                let (mut i, mut ic) = (2, 2 * ip - 2);
                while i <= ic {
                    let t = twid.get(i / 2 * (length / ip));
                    flat[i] = t.r;
                    flat[i + 1] = t.i;
                    flat[ic] = t.r;
                    flat[ic + 1] = -t.i;
                    i += 2;
                    ic -= 2;
                }
                tws = flat.chunks_exact(2).map(|p| (p[0], p[1])).collect();
            }
            fact.push(RFact { ip, tw, tws });
            l1 *= ip;
        }
        Self { length, fact }
    }

    /// `rfftp::exec`: forward (`r2hc`, FFTPACK half-complex output) or backward real FFT of `c`,
    /// scaled by `fct`. `ch` must hold at least `length` values.
    fn exec(&self, c: &mut [f64], ch: &mut [f64], fct: f64, r2hc: bool) {
        let length = self.length;
        if length == 1 {
            c[0] *= fct;
            return;
        }
        let ch = &mut ch[..length];
        // `in_c`: the current data (pocketfft's p1) is in `c` rather than in `ch`.
        let mut in_c = true;
        if r2hc {
            let mut l1 = length;
            for f in self.fact.iter().rev() {
                let ip = f.ip;
                let ido = length / l1;
                l1 /= ip;
                let (p1, p2): (&mut [f64], &mut [f64]) = if in_c {
                    (&mut *c, &mut *ch)
                } else {
                    (&mut *ch, &mut *c)
                };
                match ip {
                    4 => radf4(ido, l1, p1, p2, &f.tw),
                    2 => radf2(ido, l1, p1, p2, &f.tw),
                    3 => radf3(ido, l1, p1, p2, &f.tw),
                    5 => radf5(ido, l1, p1, p2, &f.tw),
                    _ => {
                        radfg(ido, ip, l1, p1, p2, &f.tw, &f.tws);
                        // radfg leaves its result in p1: two swaps cancel.
                        continue;
                    }
                }
                in_c = !in_c;
            }
        } else {
            let mut l1 = 1;
            for f in &self.fact {
                let ip = f.ip;
                let ido = length / (ip * l1);
                let (p1, p2): (&mut [f64], &mut [f64]) = if in_c {
                    (&mut *c, &mut *ch)
                } else {
                    (&mut *ch, &mut *c)
                };
                match ip {
                    4 => radb4(ido, l1, p1, p2, &f.tw),
                    2 => radb2(ido, l1, p1, p2, &f.tw),
                    3 => radb3(ido, l1, p1, p2, &f.tw),
                    5 => radb5(ido, l1, p1, p2, &f.tw),
                    _ => radbg(ido, ip, l1, p1, p2, &f.tw, &f.tws),
                }
                in_c = !in_c;
                l1 *= ip;
            }
        }
        // copy_and_norm
        if !in_c {
            if fct != 1.0 {
                for (ci, &p) in c.iter_mut().zip(ch.iter()) {
                    *ci = fct * p;
                }
            } else {
                c.copy_from_slice(ch);
            }
        } else if fct != 1.0 {
            for ci in c.iter_mut() {
                *ci *= fct;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Complex FFTPACK transforms (`cfftp`), only the radices Bluestein's padded lengths need
// ---------------------------------------------------------------------------------------------

struct CFact {
    ip: usize,
    tw: Vec<Cx>,
}

struct Cfftp {
    length: usize,
    fact: Vec<CFact>,
}

fn pass2<const FWD: bool>(ido: usize, l1: usize, cc: &[Cx], ch: &mut [Cx], wa: &[Cx]) {
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + 2 * c);
    let wa = |x: usize, i: usize| wa[i - 1 + x * (ido - 1)];
    for k in 0..l1 {
        ch[chi(0, k, 0)] = cc[cci(0, 0, k)] + cc[cci(0, 1, k)];
        ch[chi(0, k, 1)] = cc[cci(0, 0, k)] - cc[cci(0, 1, k)];
        for i in 1..ido {
            ch[chi(i, k, 0)] = cc[cci(i, 0, k)] + cc[cci(i, 1, k)];
            ch[chi(i, k, 1)] = smul::<FWD>(cc[cci(i, 0, k)] - cc[cci(i, 1, k)], wa(0, i));
        }
    }
}

fn pass4<const FWD: bool>(ido: usize, l1: usize, cc: &[Cx], ch: &mut [Cx], wa: &[Cx]) {
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + 4 * c);
    let wa = |x: usize, i: usize| wa[i - 1 + x * (ido - 1)];
    for k in 0..l1 {
        {
            let (t2, t1) = pm(cc[cci(0, 0, k)], cc[cci(0, 2, k)]);
            let (t3, t4) = pm(cc[cci(0, 1, k)], cc[cci(0, 3, k)]);
            let t4 = rotx90::<FWD>(t4);
            let (a, b) = pm(t2, t3);
            ch[chi(0, k, 0)] = a;
            ch[chi(0, k, 2)] = b;
            let (a, b) = pm(t1, t4);
            ch[chi(0, k, 1)] = a;
            ch[chi(0, k, 3)] = b;
        }
        for i in 1..ido {
            let (cc0, cc1, cc2, cc3) = (
                cc[cci(i, 0, k)],
                cc[cci(i, 1, k)],
                cc[cci(i, 2, k)],
                cc[cci(i, 3, k)],
            );
            let (t2, t1) = pm(cc0, cc2);
            let (t3, t4) = pm(cc1, cc3);
            let t4 = rotx90::<FWD>(t4);
            ch[chi(i, k, 0)] = t2 + t3;
            ch[chi(i, k, 1)] = smul::<FWD>(t1 + t4, wa(0, i));
            ch[chi(i, k, 2)] = smul::<FWD>(t2 - t3, wa(1, i));
            ch[chi(i, k, 3)] = smul::<FWD>(t1 - t4, wa(2, i));
        }
    }
}

fn pass8<const FWD: bool>(ido: usize, l1: usize, cc: &[Cx], ch: &mut [Cx], wa: &[Cx]) {
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + 8 * c);
    let wa = |x: usize, i: usize| wa[i - 1 + x * (ido - 1)];
    for k in 0..l1 {
        {
            let (a1, a5) = pm(cc[cci(0, 1, k)], cc[cci(0, 5, k)]);
            let (a3, a7) = pm(cc[cci(0, 3, k)], cc[cci(0, 7, k)]);
            let (a1, a3) = pm(a1, a3); // PMINPLACE
            let a3 = rotx90::<FWD>(a3);

            let a7 = rotx90::<FWD>(a7);
            let (a5, a7) = pm(a5, a7); // PMINPLACE
            let a5 = rotx45::<FWD>(a5);
            let a7 = rotx135::<FWD>(a7);

            let (a0, a4) = pm(cc[cci(0, 0, k)], cc[cci(0, 4, k)]);
            let (a2, a6) = pm(cc[cci(0, 2, k)], cc[cci(0, 6, k)]);
            let (x, y) = pm(a0 + a2, a1);
            ch[chi(0, k, 0)] = x;
            ch[chi(0, k, 4)] = y;
            let (x, y) = pm(a0 - a2, a3);
            ch[chi(0, k, 2)] = x;
            ch[chi(0, k, 6)] = y;
            let a6 = rotx90::<FWD>(a6);
            let (x, y) = pm(a4 + a6, a5);
            ch[chi(0, k, 1)] = x;
            ch[chi(0, k, 5)] = y;
            let (x, y) = pm(a4 - a6, a7);
            ch[chi(0, k, 3)] = x;
            ch[chi(0, k, 7)] = y;
        }
        for i in 1..ido {
            let (a1, a5) = pm(cc[cci(i, 1, k)], cc[cci(i, 5, k)]);
            let (a3, a7) = pm(cc[cci(i, 3, k)], cc[cci(i, 7, k)]);
            let a7 = rotx90::<FWD>(a7);
            let (a1, a3) = pm(a1, a3); // PMINPLACE
            let a3 = rotx90::<FWD>(a3);
            let (a5, a7) = pm(a5, a7); // PMINPLACE
            let a5 = rotx45::<FWD>(a5);
            let a7 = rotx135::<FWD>(a7);
            let (a0, a4) = pm(cc[cci(i, 0, k)], cc[cci(i, 4, k)]);
            let (a2, a6) = pm(cc[cci(i, 2, k)], cc[cci(i, 6, k)]);
            let (a0, a2) = pm(a0, a2); // PMINPLACE
            ch[chi(i, k, 0)] = a0 + a1;
            ch[chi(i, k, 4)] = smul::<FWD>(a0 - a1, wa(3, i));
            ch[chi(i, k, 2)] = smul::<FWD>(a2 + a3, wa(1, i));
            ch[chi(i, k, 6)] = smul::<FWD>(a2 - a3, wa(5, i));
            let a6 = rotx90::<FWD>(a6);
            let (a4, a6) = pm(a4, a6); // PMINPLACE
            ch[chi(i, k, 1)] = smul::<FWD>(a4 + a5, wa(0, i));
            ch[chi(i, k, 5)] = smul::<FWD>(a4 - a5, wa(4, i));
            ch[chi(i, k, 3)] = smul::<FWD>(a6 + a7, wa(2, i));
            ch[chi(i, k, 7)] = smul::<FWD>(a6 - a7, wa(6, i));
        }
    }
}

/// Coefficient tables of the hardcoded odd radices (`pass3/5/7/11`): `x[u-1][j-1]` and
/// `y[u-1][j-1]` are the cosine and (backward-signed) sine factors of output pair `(u, p-u)`
/// for input pair `(j, p-j)`, in the order the C++ macros list them.
struct OddRadix {
    x: &'static [&'static [f64]],
    y: &'static [&'static [f64]],
}

const RADIX3: OddRadix = OddRadix {
    x: &[&[-0.5]],
    y: &[&[TW3I]],
};
const RADIX5: OddRadix = OddRadix {
    x: &[&[TW5_1R, TW5_2R], &[TW5_2R, TW5_1R]],
    y: &[&[TW5_1I, TW5_2I], &[TW5_2I, -TW5_1I]],
};
const RADIX7: OddRadix = OddRadix {
    x: &[
        &[TW7_1R, TW7_2R, TW7_3R],
        &[TW7_2R, TW7_3R, TW7_1R],
        &[TW7_3R, TW7_1R, TW7_2R],
    ],
    y: &[
        &[TW7_1I, TW7_2I, TW7_3I],
        &[TW7_2I, -TW7_3I, -TW7_1I],
        &[TW7_3I, -TW7_1I, TW7_2I],
    ],
};
const RADIX11: OddRadix = OddRadix {
    x: &[
        &[TW11_1R, TW11_2R, TW11_3R, TW11_4R, TW11_5R],
        &[TW11_2R, TW11_4R, TW11_5R, TW11_3R, TW11_1R],
        &[TW11_3R, TW11_5R, TW11_2R, TW11_1R, TW11_4R],
        &[TW11_4R, TW11_3R, TW11_1R, TW11_5R, TW11_2R],
        &[TW11_5R, TW11_1R, TW11_4R, TW11_2R, TW11_3R],
    ],
    y: &[
        &[TW11_1I, TW11_2I, TW11_3I, TW11_4I, TW11_5I],
        &[TW11_2I, TW11_4I, -TW11_5I, -TW11_3I, -TW11_1I],
        &[TW11_3I, -TW11_5I, -TW11_2I, TW11_1I, TW11_4I],
        &[TW11_4I, -TW11_3I, TW11_1I, TW11_5I, -TW11_2I],
        &[TW11_5I, -TW11_1I, TW11_4I, -TW11_2I, TW11_3I],
    ],
};

/// `pass3`, `pass5`, `pass7` and `pass11`: they share one structure (the C++ macros
/// `POCKETFFT_PREPn` / `PARTSTEPn`). In the forward direction pocketfft negates the sine
/// constants; `a - b·c` equals `a + (-b)·c` bit for bit, so negating the table entries is
/// exact.
fn pass_odd<const FWD: bool>(
    ido: usize,
    l1: usize,
    cc: &[Cx],
    ch: &mut [Cx],
    wa: &[Cx],
    radix: &OddRadix,
) {
    let p = 2 * radix.x.len() + 1;
    let m = radix.x.len();
    let chi = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let cci = |a: usize, b: usize, c: usize| a + ido * (b + p * c);
    let wa = |x: usize, i: usize| wa[i - 1 + x * (ido - 1)];
    let sgn = if FWD { -1.0 } else { 1.0 };
    for k in 0..l1 {
        for i in 0..ido {
            let mut t = [Cx::default(); 11];
            t[0] = cc[cci(i, 0, k)];
            for j in 1..=m {
                let (a, b) = pm(cc[cci(i, j, k)], cc[cci(i, p - j, k)]);
                t[j] = a;
                t[p - j] = b;
            }
            let mut s = t[0];
            for tj in &t[1..=m] {
                s.r += tj.r;
                s.i += tj.i;
            }
            ch[chi(i, k, 0)] = s;
            for u in 1..=m {
                let (xs, ys) = (radix.x[u - 1], radix.y[u - 1]);
                let mut ca = t[0];
                for j in 1..=m {
                    ca.r += xs[j - 1] * t[j].r;
                    ca.i += xs[j - 1] * t[j].i;
                }
                let y1 = sgn * ys[0];
                let mut cbi = y1 * t[p - 1].r;
                let mut cbr = y1 * t[p - 1].i;
                for j in 2..=m {
                    let yj = sgn * ys[j - 1];
                    cbi += yj * t[p - j].r;
                    cbr += yj * t[p - j].i;
                }
                let cb = Cx::new(-cbr, cbi);
                if i == 0 {
                    let (a, b) = pm(ca, cb);
                    ch[chi(0, k, u)] = a;
                    ch[chi(0, k, p - u)] = b;
                } else {
                    let (a, b) = pm(ca, cb);
                    ch[chi(i, k, u)] = smul::<FWD>(a, wa(u - 1, i));
                    ch[chi(i, k, p - u)] = smul::<FWD>(b, wa(p - u - 1, i));
                }
            }
        }
    }
}

impl Cfftp {
    fn new(length: usize) -> Self {
        assert!(length > 0, "zero-length FFT requested");
        if length == 1 {
            return Self {
                length,
                fact: Vec::new(),
            };
        }
        let mut ips = Vec::new();
        let mut len = length;
        while len & 7 == 0 {
            ips.push(8);
            len >>= 3;
        }
        while len & 3 == 0 {
            ips.push(4);
            len >>= 2;
        }
        if len & 1 == 0 {
            len >>= 1;
            // factor 2 should be at the front of the factor list
            ips.push(2);
            let last = ips.len() - 1;
            ips.swap(0, last);
        }
        let mut divisor = 3;
        while divisor * divisor <= len {
            while len % divisor == 0 {
                ips.push(divisor);
                len /= divisor;
            }
            divisor += 2;
        }
        if len > 1 {
            ips.push(len);
        }
        assert!(
            ips.iter().all(|&ip| ip <= 11),
            "complex FFT length {length} needs the generic pass, which is not ported"
        );

        let twiddle = SinCos2PiByN::new(length);
        let mut l1 = 1;
        let mut fact = Vec::with_capacity(ips.len());
        for &ip in &ips {
            let ido = length / (l1 * ip);
            let mut tw = vec![Cx::default(); (ip - 1) * (ido - 1)];
            for j in 1..ip {
                for i in 1..ido {
                    tw[(j - 1) * (ido - 1) + i - 1] = twiddle.get(j * l1 * i);
                }
            }
            fact.push(CFact { ip, tw });
            l1 *= ip;
        }
        Self { length, fact }
    }

    /// `cfftp::pass_all<FWD>`; `ch` must hold at least `length` values.
    fn exec<const FWD: bool>(&self, c: &mut [Cx], ch: &mut [Cx], fct: f64) {
        let length = self.length;
        if length == 1 {
            c[0] = c[0] * fct;
            return;
        }
        let ch = &mut ch[..length];
        let mut l1 = 1;
        let mut in_c = true;
        for f in &self.fact {
            let ip = f.ip;
            let l2 = ip * l1;
            let ido = length / l2;
            let (p1, p2): (&[Cx], &mut [Cx]) = if in_c {
                (&*c, &mut *ch)
            } else {
                (&*ch, &mut *c)
            };
            match ip {
                4 => pass4::<FWD>(ido, l1, p1, p2, &f.tw),
                8 => pass8::<FWD>(ido, l1, p1, p2, &f.tw),
                2 => pass2::<FWD>(ido, l1, p1, p2, &f.tw),
                3 => pass_odd::<FWD>(ido, l1, p1, p2, &f.tw, &RADIX3),
                5 => pass_odd::<FWD>(ido, l1, p1, p2, &f.tw, &RADIX5),
                7 => pass_odd::<FWD>(ido, l1, p1, p2, &f.tw, &RADIX7),
                11 => pass_odd::<FWD>(ido, l1, p1, p2, &f.tw, &RADIX11),
                _ => unreachable!("checked in Cfftp::new"),
            }
            in_c = !in_c;
            l1 = l2;
        }
        if !in_c {
            if fct != 1.0 {
                for (ci, &p) in c.iter_mut().zip(ch.iter()) {
                    *ci = p * fct;
                }
            } else {
                c.copy_from_slice(ch);
            }
        } else if fct != 1.0 {
            for ci in c.iter_mut() {
                *ci = *ci * fct;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bluestein (`fftblue`)
// ---------------------------------------------------------------------------------------------

struct FftBlue {
    n: usize,
    n2: usize,
    plan: Cfftp,
    bk: Vec<Cx>,
    bkf: Vec<Cx>,
}

impl FftBlue {
    fn new(n: usize) -> Self {
        let n2 = good_size_cmplx(2 * n - 1);
        let plan = Cfftp::new(n2);
        // initialize b_k
        let tmp = SinCos2PiByN::new(2 * n);
        let mut bk = vec![Cx::default(); n];
        bk[0] = Cx::new(1.0, 0.0);
        let mut coeff = 0;
        for (m, b) in bk.iter_mut().enumerate().skip(1) {
            coeff += 2 * m - 1;
            if coeff >= 2 * n {
                coeff -= 2 * n;
            }
            *b = tmp.get(coeff);
        }
        // initialize the zero-padded, Fourier transformed b_k. Add normalisation.
        let mut tbkf = vec![Cx::default(); n2];
        let xn2 = 1.0 / n2 as f64;
        tbkf[0] = bk[0] * xn2;
        for m in 1..n {
            let v = bk[m] * xn2;
            tbkf[m] = v;
            tbkf[n2 - m] = v;
        }
        for v in &mut tbkf[n..=n2 - n] {
            *v = Cx::new(0.0, 0.0);
        }
        let mut ch = vec![Cx::default(); n2];
        plan.exec::<true>(&mut tbkf, &mut ch, 1.0);
        let bkf = tbkf[..n2 / 2 + 1].to_vec();
        Self {
            n,
            n2,
            plan,
            bk,
            bkf,
        }
    }

    /// `fftblue::fft<FWD>`.
    fn fft<const FWD: bool>(&self, c: &mut [Cx], fct: f64, buffers: &mut BlueBuffers) {
        let (n, n2) = (self.n, self.n2);
        let akf = zeroed(&mut buffers.akf, n2);
        let ch = zeroed(&mut buffers.ch, n2);
        // initialize a_k and FFT it
        for m in 0..n {
            akf[m] = smul::<FWD>(c[m], self.bk[m]);
        }
        let zero = akf[0] * 0.0;
        for v in &mut akf[n..n2] {
            *v = zero;
        }
        self.plan.exec::<true>(akf, ch, 1.0);
        // do the convolution (special_mul<!FWD>)
        let conv = |a: Cx, b: Cx| {
            if FWD {
                smul::<false>(a, b)
            } else {
                smul::<true>(a, b)
            }
        };
        akf[0] = conv(akf[0], self.bkf[0]);
        for m in 1..n2.div_ceil(2) {
            akf[m] = conv(akf[m], self.bkf[m]);
            akf[n2 - m] = conv(akf[n2 - m], self.bkf[m]);
        }
        if n2 & 1 == 0 {
            akf[n2 / 2] = conv(akf[n2 / 2], self.bkf[n2 / 2]);
        }
        // inverse FFT
        self.plan.exec::<false>(akf, ch, 1.0);
        // multiply by b_k
        for m in 0..n {
            c[m] = smul::<FWD>(akf[m], self.bk[m]) * fct;
        }
    }

    /// `fftblue::exec_r`: real FFT in FFTPACK half-complex order, like `rfftp::exec`.
    fn exec_r(&self, c: &mut [f64], fct: f64, fwd: bool) {
        BLUE_BUFFERS.with_borrow_mut(|buffers| self.exec_r_in(c, fct, fwd, buffers));
    }

    /// [`FftBlue::exec_r`] with the calling thread's buffers.
    fn exec_r_in(&self, c: &mut [f64], fct: f64, fwd: bool, buffers: &mut BlueBuffers) {
        let n = self.n;
        let mut tmp = std::mem::take(&mut buffers.tmp);
        zeroed(&mut tmp, n);
        if fwd {
            let zero = 0.0 * c[0];
            for (t, &v) in tmp.iter_mut().zip(c.iter()) {
                *t = Cx::new(v, zero);
            }
            self.fft::<true>(&mut tmp, fct, buffers);
            c[0] = tmp[0].r;
            // std::copy_n(&tmp[1].r, n-1, &c[1])
            for j in 0..n - 1 {
                let t = tmp[1 + j / 2];
                c[1 + j] = if j % 2 == 0 { t.r } else { t.i };
            }
        } else {
            tmp[0] = Cx::new(c[0], c[0] * 0.0);
            // std::copy_n(c+1, n-1, &tmp[1].r)
            for j in 0..n - 1 {
                let t = &mut tmp[1 + j / 2];
                if j % 2 == 0 {
                    t.r = c[1 + j];
                } else {
                    t.i = c[1 + j];
                }
            }
            if n & 1 == 0 {
                tmp[n / 2].i = 0.0 * c[0];
            }
            let mut m = 1;
            while 2 * m < n {
                tmp[n - m] = Cx::new(tmp[m].r, -tmp[m].i);
                m += 1;
            }
            self.fft::<false>(&mut tmp, fct, buffers);
            for (ci, t) in c.iter_mut().zip(tmp.iter()) {
                *ci = t.r;
            }
        }
        buffers.tmp = tmp;
    }
}

/// The work arrays of [`FftBlue::exec_r`], kept per thread: the C++ original allocates them per
/// call, which the real-time path ([`crate::FastTokenizer::encode_into`]) must not. Each call
/// zeroes what it uses, so the results are those of fresh arrays.
#[derive(Default)]
struct BlueBuffers {
    tmp: Vec<Cx>,
    akf: Vec<Cx>,
    ch: Vec<Cx>,
}

thread_local! {
    static BLUE_BUFFERS: std::cell::RefCell<BlueBuffers> = Default::default();
}

/// Reserves the calling thread's Bluestein work arrays for transforms of up to `len` values, so
/// that they allocate nothing more (the real-time path; cheap when already done).
pub(crate) fn reserve_thread_buffers(len: usize) {
    if len == 0 {
        return;
    }
    BLUE_BUFFERS.with_borrow_mut(|buffers| {
        // `good_size_cmplx` is non-decreasing, so a `tmp` this large means the rest is too.
        if buffers.tmp.capacity() < len {
            let n2 = good_size_cmplx(2 * len - 1);
            crate::bpe::reserve_total(&mut buffers.tmp, len);
            crate::bpe::reserve_total(&mut buffers.akf, n2);
            crate::bpe::reserve_total(&mut buffers.ch, n2);
        }
    });
}

/// `buffer` as `n` zeros (`vec![Cx::default(); n]` without a new allocation once it is big enough).
fn zeroed(buffer: &mut Vec<Cx>, n: usize) -> &mut [Cx] {
    buffer.clear();
    buffer.resize(n, Cx::default());
    buffer
}

// ---------------------------------------------------------------------------------------------
// Real FFT plan (`pocketfft_r`) and the DCT-II/III (`T_dcst23`)
// ---------------------------------------------------------------------------------------------

enum RealPlan {
    Pack(Rfftp),
    Blue(FftBlue),
}

impl RealPlan {
    fn new(length: usize) -> Self {
        assert!(length > 0, "zero-length FFT requested");
        let tmp = if length < 50 {
            0
        } else {
            largest_prime_factor(length)
        };
        if tmp * tmp <= length {
            return RealPlan::Pack(Rfftp::new(length));
        }
        let comp1 = 0.5 * cost_guess(length);
        let mut comp2 = 2.0 * cost_guess(good_size_cmplx(2 * length - 1));
        comp2 *= 1.5; // fudge factor that appears to give good overall performance
        if comp2 < comp1 {
            RealPlan::Blue(FftBlue::new(length))
        } else {
            RealPlan::Pack(Rfftp::new(length))
        }
    }

    fn exec(&self, c: &mut [f64], fct: f64, fwd: bool, scratch: &mut Vec<f64>) {
        match self {
            RealPlan::Pack(p) => {
                if scratch.len() < c.len() {
                    scratch.resize(c.len(), 0.0);
                }
                p.exec(c, scratch, fct, fwd);
            }
            RealPlan::Blue(b) => b.exec_r(c, fct, fwd),
        }
    }
}

struct Dcst23 {
    n: usize,
    fftplan: RealPlan,
    twiddle: Vec<f64>,
}

impl Dcst23 {
    fn new(n: usize) -> Self {
        assert!(n > 0, "zero-length DCT requested");
        let fftplan = RealPlan::new(n);
        let tw = SinCos2PiByN::new(4 * n);
        let twiddle = (0..n).map(|i| tw.get(i + 1).r).collect();
        Self {
            n,
            fftplan,
            twiddle,
        }
    }

    /// `T_dcst23::exec` with `type == 2`, `cosine == true`.
    fn exec2(&self, c: &mut [f64], fct: f64, ortho: bool, scratch: &mut Vec<f64>) {
        let n = self.n;
        assert_eq!(
            c.len(),
            n,
            "column length differs from the planned DCT length"
        );
        let tw = &self.twiddle;
        let ns2 = n.div_ceil(2);
        c[0] *= 2.0;
        if n & 1 == 0 {
            c[n - 1] *= 2.0;
        }
        let mut k = 1;
        while k + 1 < n {
            // MPINPLACE(c[k+1], c[k])
            let (a, b) = (c[k + 1], c[k]);
            c[k + 1] = a - b;
            c[k] = a + b;
            k += 2;
        }
        self.fftplan.exec(c, fct, false, scratch);
        for k in 1..ns2 {
            let kc = n - k;
            let t1 = tw[k - 1] * c[kc] + tw[kc - 1] * c[k];
            let t2 = tw[k - 1] * c[k] - tw[kc - 1] * c[kc];
            c[k] = 0.5 * (t1 + t2);
            c[kc] = 0.5 * (t1 - t2);
        }
        if n & 1 == 0 {
            c[ns2] *= tw[ns2 - 1];
        }
        if ortho {
            c[0] *= SQRT2 * 0.5;
        }
    }

    /// `T_dcst23::exec` with `type == 3`, `cosine == true`.
    fn exec3(&self, c: &mut [f64], fct: f64, ortho: bool, scratch: &mut Vec<f64>) {
        let n = self.n;
        assert_eq!(
            c.len(),
            n,
            "column length differs from the planned DCT length"
        );
        let tw = &self.twiddle;
        let ns2 = n.div_ceil(2);
        if ortho {
            c[0] *= SQRT2;
        }
        for k in 1..ns2 {
            let kc = n - k;
            let t1 = c[k] + c[kc];
            let t2 = c[k] - c[kc];
            c[k] = tw[k - 1] * t2 + tw[kc - 1] * t1;
            c[kc] = tw[k - 1] * t1 - tw[kc - 1] * t2;
        }
        if n & 1 == 0 {
            c[ns2] *= 2.0 * tw[ns2 - 1];
        }
        self.fftplan.exec(c, fct, true, scratch);
        let mut k = 1;
        while k + 1 < n {
            // MPINPLACE(c[k], c[k+1])
            let (a, b) = (c[k], c[k + 1]);
            c[k] = a - b;
            c[k + 1] = a + b;
            k += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dct2(x: &[f64]) -> Vec<f64> {
        let n = x.len();
        (0..n)
            .map(|k| {
                2.0 * x
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        v * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2 * n) as f64)
                            .cos()
                    })
                    .sum::<f64>()
            })
            .collect()
    }

    fn naive_dct3(x: &[f64]) -> Vec<f64> {
        let n = x.len();
        (0..n)
            .map(|i| {
                x[0] + 2.0
                    * (1..n)
                        .map(|k| {
                            x[k] * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64
                                / (2 * n) as f64)
                                .cos()
                        })
                        .sum::<f64>()
            })
            .collect()
    }

    /// Deterministic pseudo-random values in [-1, 1).
    fn lcg(seed: u64, n: usize) -> Vec<f64> {
        let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    fn assert_close(got: &[f64], want: &[f64], what: &str) {
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 * scale,
                "{what}: index {i}: got {g}, want {w}"
            );
        }
    }

    fn test_lengths() -> Vec<usize> {
        let mut v: Vec<usize> = (1..=130).collect();
        // Bluestein lengths, generic radices and mixed factorizations.
        v.extend([
            131, 169, 191, 199, 210, 243, 256, 257, 289, 343, 361, 478, 500, 502, 521, 599, 625,
            1024, 1031,
        ]);
        v
    }

    #[test]
    fn dct2_matches_naive() {
        let mut scratch = Vec::new();
        for n in test_lengths() {
            let x = lcg(n as u64, n);
            let plan = PocketDct2::new(n);
            let mut got = x.clone();
            plan.exec(&mut got, 1.0, false, &mut scratch);
            assert_close(&got, &naive_dct2(&x), &format!("dct2 n={n}"));
        }
    }

    #[test]
    fn dct3_matches_naive() {
        let mut scratch = Vec::new();
        for n in test_lengths() {
            let x = lcg(1000 + n as u64, n);
            let plan = PocketDct3::new(n);
            let mut got = x.clone();
            plan.exec(&mut got, 1.0, false, &mut scratch);
            assert_close(&got, &naive_dct3(&x), &format!("dct3 n={n}"));
        }
    }

    #[test]
    fn ortho_roundtrip() {
        let mut scratch = Vec::new();
        for n in test_lengths() {
            let x = lcg(77 + n as u64, n);
            let fct = scipy_norm_fct(1, n);
            let mut y = x.clone();
            PocketDct2::new(n).exec(&mut y, fct, true, &mut scratch);
            // Orthonormal: energy is preserved.
            let ex: f64 = x.iter().map(|v| v * v).sum();
            let ey: f64 = y.iter().map(|v| v * v).sum();
            assert!((ex - ey).abs() <= 1e-12 * ex.max(1.0), "energy n={n}");
            PocketDct3::new(n).exec(&mut y, fct, true, &mut scratch);
            assert_close(&y, &x, &format!("roundtrip n={n}"));
        }
    }

    #[test]
    fn bluestein_is_selected_like_pocketfft() {
        let blue: Vec<usize> = (1..=300)
            .filter(|&n| matches!(RealPlan::new(n), RealPlan::Blue(_)))
            .collect();
        assert_eq!(
            blue,
            [191, 199, 211, 223, 233, 239, 251, 257, 263, 271, 277, 281, 283, 293]
        );
    }

    #[test]
    fn long_double_emulation_matches_x87() {
        // (n, (double)(0.25L*pi/n), (double)(1/sqrtl(2n)), (double)(1/(long double)(2n))),
        // produced by gcc on x86-64.
        let table: [(u64, u64, u64, u64); 6] = [
            (
                1,
                0x3fe921fb54442d18,
                0x3fe6a09e667f3bcd,
                0x3fe0000000000000,
            ),
            (
                3,
                0x3fd0c152382d7366,
                0x3fda20bd700c2c3e,
                0x3fc5555555555555,
            ),
            (
                4,
                0x3fc921fb54442d18,
                0x3fd6a09e667f3bcd,
                0x3fc0000000000000,
            ),
            (
                50,
                0x3f9015bf9217271a,
                0x3fb999999999999a,
                0x3f847ae147ae147b,
            ),
            (
                191,
                0x3f70d7c741da96d9,
                0x3faa323a179bcdf6,
                0x3f6571ed3c506b3a,
            ),
            (
                599,
                0x3f557b7f36813811,
                0x3f9d95c271a5137e,
                0x3f4b5a2d4d5b081f,
            ),
        ];
        for (n, ang, ortho, fwd) in table {
            let got = ext::Ext::PI.scale2(-2).div(ext::Ext::from_u64(n)).to_f64();
            assert_eq!(got.to_bits(), ang, "ang n={n}");
            assert_eq!(
                scipy_norm_fct(1, n as usize).to_bits(),
                ortho,
                "ortho n={n}"
            );
            assert_eq!(
                scipy_norm_fct(2, n as usize).to_bits(),
                fwd,
                "forward n={n}"
            );
        }
        assert_eq!(scipy_norm_fct(0, 7), 1.0);
    }

    #[test]
    fn constants_are_double_rounded() {
        // (double)(<pocketfft literal>L), produced by gcc on x86-64.
        let table: [(f64, u64); 23] = [
            (SQRT2, 0x3ff6a09e667f3bcd),
            (HSQT2, 0x3fe6a09e667f3bcd),
            (TW3I, 0x3febb67ae8584caa),
            (TW5_1R, 0x3fd3c6ef372fe950),
            (TW5_1I, 0x3fee6f0e134454ff),
            (TW5_2R, 0xbfe9e3779b97f4a8),
            (TW5_2I, 0x3fe2cf2304755a5e),
            (TW7_1R, 0x3fe3f3a0e28bedd1),
            (TW7_1I, 0x3fe904c37505de4b),
            (TW7_2R, 0xbfcc7b90e3024582),
            (TW7_2I, 0x3fef329c0558e969),
            (TW7_3R, 0xbfecd4bca9cb5c71),
            (TW7_3I, 0x3fdbc4c04d71abc1),
            (TW11_1R, 0x3feaeb8c8764f0ba),
            (TW11_1I, 0x3fe14cedf8bb580b),
            (TW11_2R, 0x3fda9628d9c712b6),
            (TW11_2I, 0x3fed1bb48eee2c13),
            (TW11_3R, 0xbfc2375f640f44db),
            (TW11_3I, 0x3fefac9e043842ef),
            (TW11_4R, 0xbfe4f49e7f775887),
            (TW11_4I, 0x3fe82f19bb3a28a1),
            (TW11_5R, 0xbfeeb42a9bcd5057),
            (TW11_5I, 0x3fd207e7fd768dbf),
        ];
        for (i, (v, bits)) in table.into_iter().enumerate() {
            assert_eq!(v.to_bits(), bits, "constant #{i}");
        }
    }

    #[test]
    fn extended_sqrt_and_div_are_correctly_rounded() {
        // Perfect squares are exact; 1/3 and sqrt(2) against their known 64-bit significands.
        for v in [1u64, 4, 9, 1 << 40, 12_345 * 12_345] {
            let r = ext::Ext::from_u64(v).sqrt().to_f64();
            assert_eq!(r * r, v as f64, "sqrt({v})");
        }
        let third = ext::Ext::ONE.div(ext::Ext::from_u64(3));
        assert_eq!(third.to_f64(), 1.0 / 3.0);
        assert_eq!(ext::Ext::from_u64(2).sqrt().to_f64(), SQRT2);
    }

    #[test]
    fn good_size_and_costs() {
        assert_eq!(good_size_cmplx(381), 384);
        assert_eq!(good_size_cmplx(13), 14);
        assert_eq!(good_size_cmplx(1041), 1050);
        assert_eq!(largest_prime_factor(2 * 3 * 97), 97);
    }
}
