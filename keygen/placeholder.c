/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder so the library has a source until its first module lands; delete then. */
typedef int h2a_keygen_placeholder;
