# SPDX-License-Identifier: LGPL-2.1-or-later
SUMMARY = "thaw: launch slow apps fast by restoring CRIU checkpoints"
DESCRIPTION = "thawd launches the platform's apps and restores each from a \
CRIU image of itself taken once its initialization was done; libthaw is \
what an app links to ask for that image; libhal-criu releases what CRIU \
cannot dump (device fds, sockets to outside peers, SysV shared memory, \
files on eMMC) around each dump and restore."
SECTION = "base"
LICENSE = "LGPL-2.1-or-later"
LIC_FILES_CHKSUM = "file://LICENSE;md5=4fbd65380cdd255951079008b364516c"

# Where the sources come from: set THAW_SRC_URI and SRCREV in a bbappend
# or local.conf (see docs/yocto.md), or build a checkout with externalsrc.
THAW_SRC_URI ??= "git://git.example.com/thaw.git;protocol=https;branch=main"
SRC_URI = "${THAW_SRC_URI}"
SRCREV ??= "${AUTOREV}"
S = "${WORKDIR}/git"

# CRIU comes from meta-virtualization; scdoc-native builds the man pages.
DEPENDS = "criu json-c systemd xxhash zstd"

inherit cmake pkgconfig systemd useradd features_check

REQUIRED_DISTRO_FEATURES = "systemd"
# The architectures CRIU itself supports.
COMPATIBLE_HOST = "(x86_64|aarch64|arm|powerpc64le).*-linux"

PACKAGECONFIG ??= "manpages"
PACKAGECONFIG[manpages] = "-DTHAW_BUILD_MAN=ON,-DTHAW_BUILD_MAN=OFF,scdoc-native"

# The CRIU binary and the plugin folder are compiled into thawd; the
# systemd and sysusers folders are the distribution's.  Warnings are not
# errors with the distribution's compiler and flags.
EXTRA_OECMAKE = " \
    -DTHAW_BUILD_TESTS=OFF \
    -DTHAW_WERROR=OFF \
    -DTHAW_CRIU_BINARY=${sbindir}/criu \
    -DTHAW_SYSTEMD_UNITDIR=${systemd_system_unitdir} \
    -DTHAW_SYSUSERS_DIR=${nonarch_libdir}/sysusers.d \
    -DTHAW_BASH_COMPLETION_DIR=${datadir}/bash-completion/completions \
    -DTHAW_ZSH_COMPLETION_DIR=${datadir}/zsh/site-functions \
"

# Members of group thaw may use thawd's control socket.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system thaw"

SYSTEMD_PACKAGES = "${PN}"
SYSTEMD_SERVICE:${PN} = "thawd.socket thawd.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

# ${PN}: the daemon and the CLI.  libthaw and libhal-criu go into the
# apps' images on their own; the CRIU plugin is optional for thawd;
# ${PN}-tests holds the HAL conformance suite and the example apps.
PACKAGES =+ "${PN}-plugin libthaw libhal-criu ${PN}-tests"

FILES:${PN} = " \
    ${sbindir}/thawd \
    ${bindir}/thawctl \
    ${systemd_system_unitdir}/thawd.service \
    ${systemd_system_unitdir}/thawd.socket \
    ${nonarch_libdir}/sysusers.d/thaw.conf \
    ${sysconfdir}/default/thawd \
    ${sysconfdir}/thaw \
    ${datadir}/bash-completion/completions/thawctl \
    ${datadir}/zsh/site-functions/_thawctl \
"
CONFFILES:${PN} = "${sysconfdir}/default/thawd"
FILES:${PN}-plugin = "${libdir}/thaw/criu-plugins/thaw-devfd.so"
FILES:libthaw = "${libdir}/libthaw.so.*"
FILES:libhal-criu = "${libdir}/libhal-criu.so.*"
FILES:${PN}-tests = " \
    ${bindir}/hal-criu-conformance \
    ${libexecdir}/thaw/examples \
    ${datadir}/thaw/examples \
"
FILES:${PN}-dev = " \
    ${includedir}/thaw \
    ${libdir}/libthaw.so \
    ${libdir}/libhal-criu.so \
    ${libdir}/pkgconfig/thaw.pc \
    ${libdir}/pkgconfig/hal-criu.pc \
    ${libdir}/cmake/thaw \
"
FILES:${PN}-doc = "${mandir}"

RDEPENDS:${PN} = "criu"
RRECOMMENDS:${PN} = "${PN}-plugin"
RDEPENDS:${PN}-plugin = "criu"
RDEPENDS:${PN}-tests = "${PN}"
RDEPENDS:${PN}-dev = "libthaw libhal-criu"
