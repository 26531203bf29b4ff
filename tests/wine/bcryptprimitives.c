/* Test scaffolding for Wine 8 only, never shipped: Wine 8.0 has no bcryptprimitives.dll, whose
 * ProcessPrng Rust's standard library imports for randomness (HashMap seeds). Real Windows 10 and
 * later have it. This stand-in fills the buffer from RtlGenRandom (advapi32!SystemFunction036). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
