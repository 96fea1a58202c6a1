/* Wine 8.0 lacks bcryptprimitives.dll, whose ProcessPrng Rust's standard library imports for
 * random numbers (HashMap seeds). This stand-in forwards to RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. Built by .ci/wine.sh with MinGW; used only in the CI
 * Wine prefix, never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
